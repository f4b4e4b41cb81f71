"""Fake drones for the drone tests, flown by pymavlink (not by our code): each vehicle has a UDP
socket of its own and sends to Huoyan's one MAVLink port a HEARTBEAT a second, SYS_STATUS with its
battery, and GLOBAL_POSITION_INT five times a second while it circles its point; and it answers a
mission upload as ArduPilot does (it asks for each item, asks again after a second of silence,
acknowledges the whole). One vehicle may speak MAVLink 1 and one may fall silent.

    fake_vehicles.py PORT LON LAT SYSID[,SYSID…] [--v1 SYSID] [--silent SYSID AFTER_S]
                     [--seconds N] [--radius M]

Prints "ready" once every socket is open, then a JSON line for each mission accepted:
{"sysid": 7, "items": [[seq, frame, command, x, y, z], …]}.
"""
import json
import math
import os
import sys
import time

os.environ["MAVLINK20"] = "1"  # before pymavlink is imported: its dialect is chosen at import
from pymavlink import mavutil  # noqa: E402

mav = mavutil.mavlink
args = sys.argv[1:]
port, lon0, lat0, ids = int(args[0]), float(args[1]), float(args[2]), [int(s) for s in args[3].split(",")]
v1 = int(args[args.index("--v1") + 1]) if "--v1" in args else None
silent, silent_after = None, None
if "--silent" in args:
    k = args.index("--silent")
    silent, silent_after = int(args[k + 1]), float(args[k + 2])
seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 60.0
radius = float(args[args.index("--radius") + 1]) if "--radius" in args else 150.0


class Vehicle:
    def __init__(self, sysid, k):
        self.sysid = sysid
        self.link = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=sysid, source_component=1)
        self.v1 = sysid == v1
        # Each circles its own point, 300 m east of the last.
        self.lon = lon0 + k * 300 / (111_320 * math.cos(math.radians(lat0)))
        self.lat = lat0
        self.items, self.expected, self.gcs, self.last_request = [], 0, None, 0.0

    def send(self, name, *fields, **kw):
        getattr(self.link.mav, name + "_send")(*fields, force_mavlink1=self.v1, **kw)

    def request(self, seq):
        self.send("mission_request_int", self.gcs[0], self.gcs[1], seq, mav.MAV_MISSION_TYPE_MISSION)
        self.last_request = time.time()

    def tick(self, now, t):
        # A circle of the radius at 10 m/s.
        a = t * 10 / radius
        dx, dy = radius * math.cos(a), radius * math.sin(a)
        lon = self.lon + dx / (111_320 * math.cos(math.radians(self.lat)))
        lat = self.lat + dy / 110_540
        heading = (math.degrees(math.atan2(math.cos(a), -math.sin(a))) + 360) % 360
        return lon, lat, heading

    def answer(self):
        msg = self.link.recv_match(type=["MISSION_COUNT", "MISSION_ITEM_INT"], blocking=False)
        if self.gcs and self.expected < len(self.items) and time.time() - self.last_request > 1.0:
            self.request(self.expected)
        if msg is None:
            return
        if msg.get_type() == "MISSION_COUNT" and msg.target_system == self.sysid:
            self.gcs, self.items, self.expected = (msg.get_srcSystem(), msg.get_srcComponent()), [None] * msg.count, 0
            if msg.count == 0:
                self.send("mission_ack", self.gcs[0], self.gcs[1], mav.MAV_MISSION_ACCEPTED, mav.MAV_MISSION_TYPE_MISSION)
            else:
                self.request(0)
        elif self.gcs and msg.get_type() == "MISSION_ITEM_INT":
            if msg.seq != self.expected:
                self.send("mission_ack", self.gcs[0], self.gcs[1], mav.MAV_MISSION_INVALID_SEQUENCE, mav.MAV_MISSION_TYPE_MISSION)
                return
            self.items[msg.seq] = [msg.seq, msg.frame, msg.command, msg.x, msg.y, msg.z]
            self.expected += 1
            if self.expected < len(self.items):
                self.request(self.expected)
            else:
                self.send("mission_ack", self.gcs[0], self.gcs[1], mav.MAV_MISSION_ACCEPTED, mav.MAV_MISSION_TYPE_MISSION)
                print(json.dumps({"sysid": self.sysid, "items": self.items}), flush=True)
                self.gcs = None


vehicles = [Vehicle(s, k) for k, s in enumerate(ids)]
print("ready", flush=True)
start = time.time()
next_beat = next_fix = start
while time.time() - start < seconds:
    now = time.time()
    t = now - start
    for v in vehicles:
        if v.sysid == silent and t > silent_after:
            continue
        if now >= next_beat:
            v.send("heartbeat", mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA,
                   mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | mav.MAV_MODE_FLAG_SAFETY_ARMED, 0, mav.MAV_STATE_ACTIVE)
            v.send("sys_status", 0, 0, 0, 500, 15_800, 1_200, 80 - int(t / 60), 0, 0, 0, 0, 0, 0)
        if now >= next_fix:
            lon, lat, heading = v.tick(now, t)
            v.send("global_position_int", int(t * 1000) & 0xFFFFFFFF, round(lat * 1e7), round(lon * 1e7),
                   int(146_000 + 80_000), 80_000, 0, 0, 0, int(heading * 100) % 36_000)
        v.answer()
    if now >= next_beat:
        next_beat += 1.0
    if now >= next_fix:
        next_fix += 0.2
    time.sleep(0.01)
