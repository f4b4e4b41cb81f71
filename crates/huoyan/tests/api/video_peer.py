"""A drone's video as a real stream server would serve it, for the browser test: an HLS playlist
cut by Debian's ffmpeg (H.264 test pattern, 1 s segments) and a WHEP endpoint answered by aiortc
(PyPI), both on one port with the CORS headers a stream server sends to a page of another origin.

Usage: video_peer.py DIR
Prints "ready PORT" once it listens on 127.0.0.1; runs until killed.
"""

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "content-type, authorization",
    "Access-Control-Expose-Headers": "Location",
}


def cut_hls(folder: Path) -> None:
    """Ten seconds of a 320x240 test pattern as an HLS VOD playlist of 1 s H.264 segments."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "10",
         "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "25",
         "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "vod",
         str(folder / "index.m3u8")],
        check=True,
    )


async def main() -> None:
    folder = Path(sys.argv[1]) / "hls"
    cut_hls(folder)
    peers: dict[str, RTCPeerConnection] = {}

    async def preflight(_request: web.Request) -> web.Response:
        return web.Response(status=204, headers=CORS)

    async def hls(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = folder / name
        if "/" in name or not path.is_file():
            return web.Response(status=404, headers=CORS)
        kind = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
        return web.Response(body=path.read_bytes(), content_type=kind, headers=CORS)

    async def whep(request: web.Request) -> web.Response:
        if request.content_type != "application/sdp":
            return web.Response(status=415, headers=CORS)
        offer = RTCSessionDescription(sdp=await request.text(), type="offer")
        pc = RTCPeerConnection()
        # aiortc's VideoStreamTrack sends 640x480 frames at 30 per second.
        track = VideoStreamTrack()
        pc.addTrack(track)
        await pc.setRemoteDescription(offer)
        await pc.setLocalDescription(await pc.createAnswer())
        session = uuid.uuid4().hex
        peers[session] = pc
        headers = dict(CORS, Location=f"/whep/{session}")
        return web.Response(status=201, text=pc.localDescription.sdp,
                            content_type="application/sdp", headers=headers)

    async def hang_up(request: web.Request) -> web.Response:
        pc = peers.pop(request.match_info["session"], None)
        if pc is None:
            return web.Response(status=404, headers=CORS)
        await pc.close()
        return web.Response(status=200, headers=CORS)

    app = web.Application()
    app.router.add_route("OPTIONS", "/{tail:.*}", preflight)
    app.router.add_get("/hls/{name}", hls)
    app.router.add_post("/whep", whep)
    app.router.add_delete("/whep/{session}", hang_up)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for pc in peers.values():
            await pc.close()


if __name__ == "__main__":
    asyncio.run(main())
