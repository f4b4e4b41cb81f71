"""An independent peer for the Open311 endpoints: `georeport` (PyPI), a third-party Python client
of GeoReport v2, reads every resource of a running Huoyan in both formats.

georeport cannot file requests, so two are filed first with a plain form POST as the standard
describes it: one by the supervisor naming the compound by `address_id`, and one as a 12345 hotline
system sends it, by the city-wide office account with the place only in `address_string`. Usage:
open311_peer.py BASE_URL (a demo server). Exits non-zero on the first answer the client cannot
use.
"""

import sys

import requests
from georeport import GeoReport

base = sys.argv[1].rstrip("/")


def token_of(username):
    return requests.post(
        f"{base}/api/v1/auth/token",
        json={"username": username, "password": "huoyan-demo"},
        timeout=10,
    ).json()["token"]


token = token_of("supervisor")
auth = {"Authorization": f"Bearer {token}"}
compound = requests.get(f"{base}/api/v1/me", headers=auth, timeout=10).json()["scope"]["region_id"]
city = requests.get(f"{base}/api/v1/regions?level=city", headers=auth, timeout=10).json()["items"][0]["code"]

filed = requests.post(
    f"{base}/open311/v2/requests.json",
    data={
        "api_key": token,
        "jurisdiction_id": city,
        "service_code": "supplies",
        "address_id": str(compound),
        "address_string": "5号楼",
        "description": "5号楼蔬菜包未送达",
        "first_name": "不存",
    },
    timeout=10,
)
assert filed.status_code == 201, filed.text
request_id = filed.json()[0]["service_request_id"]
assert isinstance(request_id, str), request_id
hotline = requests.post(
    f"{base}/open311/v2/requests.json",
    data={
        "api_key": token_of("office"),
        "service_code": "supplies",
        "address_string": "大庆市高新区 景程小区３号楼",
        "description": "热线转来：3号楼蔬菜包未送达",
    },
    timeout=10,
)
assert hotline.status_code == 201, hotline.text
hotline_id = hotline.json()[0]["service_request_id"]

for fmt in ("json", "xml"):
    client = GeoReport(f"{base}/open311/v2", jurisdiction=city, output_format=fmt)
    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert "supplies" in codes and len(codes) == 9, codes
    assert all(s["type"] == "realtime" for s in services), services
    definition = client.get_service_definition("supplies")
    assert definition["service_code"] == "supplies", definition
    one = client.get_service_request(request_id)
    assert one["service_request_id"] == request_id, one
    assert one["status"] == "open" and one["service_code"] == "supplies", one
    assert one["address"].startswith("5号楼，"), one
    assert "不存" not in str(one), one
    by_address = client.get_service_request(hotline_id)
    assert by_address["address_id"] == str(compound), by_address
    listed = client.get_service_requests(service_code="supplies", status="open")
    # xmltodict gives a lone element as a dict, several as a list.
    listed = listed if isinstance(listed, list) else [listed]
    assert {request_id, hotline_id} <= {r["service_request_id"] for r in listed}, listed
    try:
        GeoReport(f"{base}/open311/v2", jurisdiction="sfgov.org", output_format=fmt).get_service_list()
        raise AssertionError("another jurisdiction was served")
    except requests.HTTPError as e:
        assert e.response.status_code == 404, e
    print(f"georeport ({fmt}): {len(services)} services, requests {request_id} and {hotline_id} (by address) read back")
