//! The MAVLink link: one UDP port that hears many vehicles, keyed by system id (the `mavlink`
//! crate's own UDP server remembers only the last sender). Each datagram's v1 and v2 frames update
//! the vehicle in `Live`; positions are kept as the track, thinned to one a second per drone;
//! a vehicle silent past `LOST_AFTER_MS` is told as lost; and a sortie is uploaded to a vehicle
//! with the mission protocol (COUNT → REQUEST(_INT) → ITEM_INT … → ACK), answering each request,
//! with timeouts and retries as QGroundControl's PlanManager has them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use huoyan_core::drones::ground_control::MissionItem;
use mavlink::dialects::common::{self as mav, MavMessage};
use mavlink::{MavHeader, MavlinkVersion, Message};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::live::Live;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};

/// Who we are on the link: a ground station (MAV_COMP_ID_MISSIONPLANNER).
const OUR_SYSTEM: u8 = 255;
const OUR_COMPONENT: u8 = 190;
/// The vehicles' autopilot component.
const AUTOPILOT: u8 = 1;
/// How long an upload waits for the vehicle's next request or its acknowledgement, and how often
/// it sends the count again before the first request (QGC: 1.5 s, five retries).
const ACK_TIMEOUT: Duration = Duration::from_millis(1_500);
const RETRIES: u32 = 5;
/// Track points waiting for the database; past this, new ones are dropped (the live map still
/// has them) rather than held until memory runs out.
const TRACK_QUEUE: usize = 10_000;

/// Where a vehicle was last heard from, and which MAVLink it speaks (we answer in kind).
#[derive(Debug, Clone, Copy)]
struct Peer {
    addr: SocketAddr,
    version: MavlinkVersion,
}

/// One point of a drone's track, as stored.
struct TrackPoint {
    system_id: u8,
    fix: huoyan_core::drones::link::Fix,
    battery_pct: Option<u8>,
}

pub struct Link {
    socket: UdpSocket,
    /// At most 255 entries: the key is a system id.
    peers: Mutex<HashMap<u8, Peer>>,
    /// The upload under way to each vehicle, fed the mission messages it sends.
    uploads: Mutex<HashMap<u8, mpsc::Sender<MavMessage>>>,
    sequence: AtomicU8,
}

/// Every CRC-valid v1 and v2 frame of one datagram (garbage and unknown ids are skipped).
pub fn decode(datagram: &[u8]) -> Vec<(MavlinkVersion, MavHeader, MavMessage)> {
    let mut out = Vec::new();
    let mut reader = mavlink::MavlinkReader::new(datagram);
    loop {
        let raw = match reader.read_any_raw_message::<MavMessage>() {
            Ok(raw) => raw,
            Err(mavlink::error::MessageReadError::Io(_)) => break,
            Err(_) => continue,
        };
        let header = MavHeader {
            system_id: raw.system_id(),
            component_id: raw.component_id(),
            sequence: raw.sequence(),
        };
        if let Ok(msg) = MavMessage::parse(raw.version(), raw.message_id(), raw.payload()) {
            out.push((raw.version(), header, msg));
        }
    }
    out
}

impl Link {
    /// Binds `addr` for the link.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Link> {
        Ok(Link {
            socket: UdpSocket::bind(addr).await?,
            peers: Mutex::default(),
            uploads: Mutex::default(),
            sequence: AtomicU8::new(0),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Receives until the task is dropped: updates `live`, hands mission messages to the upload
    /// waiting for them, queues the track for `db`, and tells lost links.
    pub async fn run(self: Arc<Self>, live: Arc<Live>, db: Db) {
        let (track, queued) = mpsc::channel(TRACK_QUEUE);
        tokio::join!(
            self.receive(&live, track),
            write_track(db, queued),
            sweep(&live)
        );
    }

    // MISSION_REQUEST is deprecated in common.xml, but ArduPilot still asks for items with it.
    #[allow(deprecated)]
    async fn receive(&self, live: &Live, track: mpsc::Sender<TrackPoint>) {
        let mut buf = vec![0u8; 65_536];
        // When each vehicle's position was last kept for the track.
        let mut kept = [0i64; 256];
        loop {
            let (n, from) = match self.socket.recv_from(&mut buf).await {
                Ok(got) => got,
                Err(e) => {
                    // An ICMP "port unreachable" from a vehicle that went away shows up here.
                    tracing::debug!(error = %e, "MAVLink receive");
                    continue;
                }
            };
            let now = crate::time::now_ms();
            for (version, header, msg) in decode(&buf[..n]) {
                let id = header.system_id;
                if id == 0 || id == OUR_SYSTEM {
                    continue;
                }
                self.peers.lock().expect("not poisoned").insert(
                    id,
                    Peer {
                        addr: from,
                        version,
                    },
                );
                match msg {
                    MavMessage::HEARTBEAT(h) if h.mavtype != mav::MavType::MAV_TYPE_GCS => {
                        live.heard(id, now, |v| v.heartbeat(now, h.base_mode.bits()));
                    }
                    MavMessage::GLOBAL_POSITION_INT(p) => {
                        let t = live.heard(id, now, |v| {
                            v.position(now, p.lat, p.lon, p.relative_alt, p.hdg)
                        });
                        if now - kept[usize::from(id)] >= 1_000 {
                            kept[usize::from(id)] = now;
                            let point = TrackPoint {
                                system_id: id,
                                fix: t.position.expect("a position was just applied"),
                                battery_pct: t.battery_pct,
                            };
                            // A full queue drops the point: the database is behind.
                            let _ = track.try_send(point);
                        }
                    }
                    MavMessage::SYS_STATUS(s) => {
                        live.heard(id, now, |v| v.battery(now, s.battery_remaining));
                    }
                    MavMessage::BATTERY_STATUS(b) => {
                        live.heard(id, now, |v| v.battery(now, b.battery_remaining));
                    }
                    m @ (MavMessage::MISSION_REQUEST_INT(_)
                    | MavMessage::MISSION_REQUEST(_)
                    | MavMessage::MISSION_ACK(_)) => {
                        let upload = self.uploads.lock().expect("not poisoned").get(&id).cloned();
                        if let Some(upload) = upload {
                            let _ = upload.try_send(m);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    async fn send(&self, peer: Peer, msg: &MavMessage) -> std::io::Result<()> {
        let header = MavHeader {
            system_id: OUR_SYSTEM,
            component_id: OUR_COMPONENT,
            sequence: self.sequence.fetch_add(1, Ordering::Relaxed),
        };
        let mut buf = Vec::with_capacity(280);
        mavlink::write_versioned_msg(&mut buf, peer.version, header, msg)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.socket.send_to(&buf, peer.addr).await?;
        Ok(())
    }

    /// Uploads `items` (home first) to vehicle `system_id`; returns once the vehicle accepted
    /// them. One upload at a time per vehicle.
    pub async fn upload(&self, system_id: u8, items: &[MissionItem]) -> AppResult<()> {
        let refuse = |why: String| AppError::Conflict(vec![FieldError::new("sortie", why)]);
        let peer = self
            .peers
            .lock()
            .expect("not poisoned")
            .get(&system_id)
            .copied()
            .ok_or_else(|| refuse("the vehicle has not been heard on the link".into()))?;
        let count = u16::try_from(items.len()).map_err(|_| refuse("too many items".into()))?;
        let (tx, mut rx) = mpsc::channel(64);
        {
            let mut uploads = self.uploads.lock().expect("not poisoned");
            if uploads.get(&system_id).is_some_and(|u| !u.is_closed()) {
                return Err(refuse("an upload to this vehicle is under way".into()));
            }
            uploads.insert(system_id, tx);
        }
        let result = self.converse(peer, system_id, items, count, &mut rx).await;
        self.uploads
            .lock()
            .expect("not poisoned")
            .remove(&system_id);
        result.map_err(refuse)
    }

    #[allow(deprecated)]
    async fn converse(
        &self,
        peer: Peer,
        system_id: u8,
        items: &[MissionItem],
        count: u16,
        rx: &mut mpsc::Receiver<MavMessage>,
    ) -> Result<(), String> {
        let send = async |msg: MavMessage| {
            self.send(peer, &msg)
                .await
                .map_err(|e| format!("sending to the vehicle failed: {e}"))
        };
        let count_msg = MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
            target_system: system_id,
            target_component: AUTOPILOT,
            count,
            ..Default::default()
        });
        send(count_msg.clone()).await?;
        let (mut requested, mut retries) = (false, 0);
        loop {
            let msg = match tokio::time::timeout(ACK_TIMEOUT, rx.recv()).await {
                Ok(Some(msg)) => msg,
                Ok(None) => return Err("the link stopped".into()),
                Err(_) if !requested && retries < RETRIES => {
                    retries += 1;
                    send(count_msg.clone()).await?;
                    continue;
                }
                Err(_) if requested => return Err("the vehicle did not request every item".into()),
                Err(_) => return Err("the vehicle did not answer the upload".into()),
            };
            let seq = match msg {
                MavMessage::MISSION_REQUEST_INT(r) => r.seq,
                MavMessage::MISSION_REQUEST(r) => r.seq,
                MavMessage::MISSION_ACK(a) => match a.mavtype {
                    mav::MavMissionResult::MAV_MISSION_ACCEPTED => return Ok(()),
                    // ArduPilot acknowledges an item sent twice this way; the upload goes on.
                    mav::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE => continue,
                    other => return Err(format!("the vehicle refused the mission: {other:?}")),
                },
                _ => continue,
            };
            requested = true;
            let item = items
                .get(usize::from(seq))
                .ok_or_else(|| format!("the vehicle asked for item {seq} of {count}"))?;
            send(item_message(system_id, seq, item)).await?;
        }
    }
}

/// Item `seq` as MISSION_ITEM_INT: lat/lon in degE7, rounded (truncating loses a centimetre and
/// reads back as another number), except in frame 2 where x and y are plain values.
fn item_message(system_id: u8, seq: u16, it: &MissionItem) -> MavMessage {
    use num_traits::FromPrimitive;
    let e7 = |v: f64| (v * 1e7).round() as i32;
    MavMessage::MISSION_ITEM_INT(mav::MISSION_ITEM_INT_DATA {
        target_system: system_id,
        target_component: AUTOPILOT,
        seq,
        frame: mav::MavFrame::from_u8(it.frame).unwrap_or_default(),
        command: mav::MavCmd::from_u16(it.command).unwrap_or_default(),
        current: u8::from(seq == 0),
        autocontinue: 1,
        param1: it.params[0] as f32,
        param2: it.params[1] as f32,
        param3: it.params[2] as f32,
        param4: it.params[3] as f32,
        x: e7(it.lat),
        y: e7(it.lon),
        z: it.alt as f32,
        ..Default::default()
    })
}

/// Writes the queued track points a second at a time, one transaction for all of them.
async fn write_track(db: Db, mut queued: mpsc::Receiver<TrackPoint>) {
    let mut points = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if queued.recv_many(&mut points, TRACK_QUEUE).await == 0 {
            return;
        }
        if let Err(e) = store(&db, &points).await {
            tracing::warn!(error = %e, points = points.len(), "the drones' track was not stored");
        }
        points.clear();
    }
}

async fn store(db: &Db, points: &[TrackPoint]) -> AppResult<()> {
    let ids: HashMap<i64, i64> =
        sqlx::query_as::<_, (i64, i64)>("SELECT system_id, id FROM drones")
            .fetch_all(&db.pool)
            .await?
            .into_iter()
            .collect();
    let mut tx = db.pool.begin().await?;
    for p in points {
        // A vehicle not registered in the fleet is shown live but keeps no track.
        let Some(drone) = ids.get(&i64::from(p.system_id)) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO drone_fixes (drone_id, at_ms, lon, lat, alt_m, heading_deg, battery_pct) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(drone)
        .bind(p.fix.at_ms)
        .bind(p.fix.lon)
        .bind(p.fix.lat)
        .bind(p.fix.alt_m)
        .bind(p.fix.heading_deg)
        .bind(p.battery_pct.map(i64::from))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Tells lost links twice a second, so the map shows one within `LOST_AFTER_MS` + 0.5 s.
async fn sweep(live: &Live) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        live.sweep(crate::time::now_ms());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_of_both_versions_in_one_datagram_are_read_and_garbage_skipped() {
        let mut datagram = vec![0x00, 0x13, 0x37];
        for (version, id) in [(MavlinkVersion::V2, 7), (MavlinkVersion::V1, 9)] {
            let header = MavHeader {
                system_id: id,
                component_id: 1,
                sequence: 3,
            };
            let msg = MavMessage::GLOBAL_POSITION_INT(mav::GLOBAL_POSITION_INT_DATA {
                lat: 465_900_000,
                lon: 1_251_000_000,
                relative_alt: 80_000,
                hdg: 9_000,
                ..Default::default()
            });
            mavlink::write_versioned_msg(&mut datagram, version, header, &msg).unwrap();
        }
        let frames = decode(&datagram);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].0, MavlinkVersion::V2);
        assert_eq!((frames[0].1.system_id, frames[1].1.system_id), (7, 9));
        let MavMessage::GLOBAL_POSITION_INT(p) = &frames[1].2 else {
            panic!("{:?}", frames[1].2)
        };
        assert_eq!((p.lat, p.relative_alt), (465_900_000, 80_000));
    }

    #[test]
    fn an_item_rounds_its_coordinates_to_the_nearest_e7() {
        let it = MissionItem {
            command: 16,
            frame: 3,
            params: [0.0, 0.0, 0.0, f64::NAN],
            lat: 30.5730,
            lon: 104.0670,
            alt: 50.0,
        };
        let MavMessage::MISSION_ITEM_INT(m) = item_message(7, 3, &it) else {
            panic!()
        };
        assert_eq!(
            (m.x, m.y, m.z, m.seq),
            (305_730_000, 1_040_670_000, 50.0, 3)
        );
        assert_eq!(m.command, mav::MavCmd::MAV_CMD_NAV_WAYPOINT);
        assert_eq!(m.frame, mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT);
        assert!(m.param4.is_nan());
    }
}
