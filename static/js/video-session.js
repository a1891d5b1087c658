// The video session page: camera preview, waiting until admitted, then the Janus VideoRoom (publish our
// camera and microphone, receive everyone else's), reconnecting when the connection drops.
// Janus sees only the seat's random reference and token; names stay on our own pages.
import Janus from "../vendor/janus/janus.es.js";

const root = document.getElementById("video-session");
const statusLine = document.getElementById("video-status");
const localVideo = document.getElementById("video-local");
const remotes = document.getElementById("video-remotes");
const leaveButton = document.getElementById("video-leave");
const POLL_MS = 1500;
const RECONNECT_MS = 3000;

let seat = null;
let localStream = null;
let janus = null;
let publisher = null;
let subscriber = null;
let subscribed = new Set();
let pending = []; // streams to ask the subscriber for once its current negotiation is done
let negotiating = false;
let subscriberPrivateId = null;
let mids = new Map(); // mid -> feed id
let leaving = false;

function say(text, kind) {
  statusLine.textContent = text;
  statusLine.className = kind ? `message ${kind}` : "";
}

function mark(name) {
  root.dataset[name] = String(Math.round(performance.now()));
}

async function post(url) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": root.dataset.csrf },
    credentials: "same-origin",
  });
  return { ok: response.ok, body: await response.json().catch(() => ({})) };
}

function seatUrl(template) {
  return template.replace("SEAT", encodeURIComponent(seat));
}

async function startCamera() {
  try {
    localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  } catch (error) {
    if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) {
      say("Your browser did not allow the camera and microphone. Allow them for this site (the camera " +
        "symbol in the address bar), then reload this page.", "error");
    } else if (error && error.name === "NotFoundError") {
      say("No camera or microphone was found. Connect one, then reload this page.", "error");
    } else {
      say("The camera or microphone could not be started. Close other programs that use them, then " +
        "reload this page.", "error");
    }
    return false;
  }
  localVideo.srcObject = localStream;
  localVideo.addEventListener("playing", () => mark("localPlaying"), { once: true });
  await localVideo.play().catch(() => {});
  return true;
}

async function takeSeat() {
  const { ok, body } = await post(root.dataset.seatUrl);
  if (!ok) {
    say(body.message || "You cannot join this session now.", "error");
    return false;
  }
  seat = body.seat;
  return true;
}

async function poll() {
  if (leaving) return;
  let body;
  try {
    const response = await fetch(seatUrl(root.dataset.statusUrl), { credentials: "same-origin" });
    body = await response.json();
  } catch (error) {
    say("The connection to the practice dropped. Trying again…", "warning");
    setTimeout(poll, RECONNECT_MS);
    return;
  }
  if (body.state === "waiting") {
    say(root.dataset.role === "client"
      ? "You are in the waiting room. Your therapist will let you in."
      : "Connecting…");
    setTimeout(poll, POLL_MS);
  } else if (body.state === "admitted") {
    if (!janus) connect(body);
    setTimeout(poll, RECONNECT_MS);
  } else {
    say(body.message || "This session has ended.", body.state === "ended" ? "" : "warning");
    hangUp();
  }
}

function connect(config) {
  say("Joining the session…");
  mark("admitted");
  janus = new Janus({
    server: config.server,
    token: config.token,
    iceServers: config.iceServers && config.iceServers.length ? config.iceServers : undefined,
    success: () => attachPublisher(config),
    error: (cause) => dropped(config, cause),
    destroyed: () => {},
  });
}

// The poll below reconnects (with a fresh Janus session) while the seat is still admitted, and says so
// when the session has ended instead.
function dropped(config, cause) {
  if (leaving || !janus) return;
  console.warn("video: connection dropped", cause);
  say("The video connection dropped. Reconnecting…", "warning");
  teardown();
}

function teardown() {
  const old = janus;
  janus = null;
  publisher = null;
  subscriber = null;
  subscribed = new Set();
  pending = [];
  negotiating = false;
  subscriberPrivateId = null;
  mids = new Map();
  remotes.replaceChildren();
  if (old) {
    try { old.destroy({ cleanupHandles: true, notifyDestroyed: false }); } catch (error) { /* gone */ }
  }
}

function attachPublisher(config) {
  janus.attach({
    plugin: "janus.plugin.videoroom",
    success: (handle) => {
      publisher = handle;
      handle.send({ message: {
        request: "join", ptype: "publisher", room: config.room, display: config.display, token: config.token,
      } });
    },
    error: (cause) => dropped(config, cause),
    iceState: (state) => { if (state === "failed") dropped(config, "ICE failed"); },
    onmessage: (message, jsep) => onPublisherMessage(config, message, jsep),
    onlocaltrack: () => {},
    onremotetrack: () => {},
    oncleanup: () => {},
  });
}

function onPublisherMessage(config, message, jsep) {
  if (jsep) publisher.handleRemoteJsep({ jsep });
  if (message.videoroom === "joined") {
    publish();
    post(seatUrl(root.dataset.joinedUrl));
    say("You are in the session.");
    mark("joined");
    subscribe(config, message.publishers || [], message.private_id);
  } else if (message.videoroom === "event") {
    if (message.publishers) subscribe(config, message.publishers, null);
    const gone = message.unpublished || message.leaving;
    if (gone && gone !== "ok") removeFeed(gone);
    if (message.error_code === 426 || message.error_code === 428) {
      say("This session has ended.");
      hangUp();
    }
  }
}

function publish() {
  const tracks = localStream.getTracks().map((track) => ({ type: track.kind, capture: track, recv: false }));
  publisher.createOffer({
    tracks,
    success: (offer) => publisher.send({ message: { request: "configure", audio: true, video: true }, jsep: offer }),
    error: () => say("Your camera could not be sent. Reload this page to try again.", "error"),
  });
}

// One subscriber handle receives every other feed. Its negotiations run one at a time: feeds announced
// while it is still attaching or answering an offer wait in `pending` and are asked for together once
// that offer is answered. (Two feeds announced at once, as when the therapist lets everyone in, used to
// attach two handles whose answers went to the wrong one, and a busy machine left a page without video.)
function subscribe(config, publishers, privateId) {
  for (const feed of publishers) {
    if (subscribed.has(feed.id)) continue;
    subscribed.add(feed.id);
    pending.push({ feed: feed.id });
  }
  if (privateId) subscriberPrivateId = privateId;
  nextSubscription(config);
}

function nextSubscription(config) {
  if (negotiating || !pending.length || !janus) return;
  const streams = pending;
  pending = [];
  negotiating = true;
  if (subscriber) {
    subscriber.send({ message: { request: "subscribe", streams }, error: (cause) => dropped(config, cause) });
    return;
  }
  const session = janus;
  session.attach({
    plugin: "janus.plugin.videoroom",
    success: (handle) => {
      if (janus !== session) return;
      subscriber = handle;
      const join = { request: "join", ptype: "subscriber", room: config.room, streams, token: config.token };
      if (subscriberPrivateId) join.private_id = subscriberPrivateId;
      handle.send({ message: join });
    },
    error: (cause) => dropped(config, cause),
    onmessage: (message, jsep) => onSubscriberMessage(config, session, message, jsep),
    onremotetrack: (track, mid, on, metadata) => onRemoteTrack(track, mid, on, metadata),
    oncleanup: () => {},
  });
}

function onSubscriberMessage(config, session, message, jsep) {
  if (janus !== session || !subscriber) return;
  if (message.streams) for (const stream of message.streams) mids.set(stream.mid, stream.feed_id);
  if (!jsep) {
    // Nothing to negotiate (the feeds were already there, or gone): the next request may go.
    if (message.error || message.videoroom === "updated") {
      negotiating = false;
      nextSubscription(config);
    }
    return;
  }
  const handle = subscriber;
  handle.createAnswer({
    jsep,
    tracks: [{ type: "data" }],
    success: (answer) => handle.send({
      message: { request: "start", room: config.room },
      jsep: answer,
      success: () => { negotiating = false; nextSubscription(config); },
      error: (cause) => dropped(config, cause),
    }),
    error: () => say("The others' video could not be received. Reload this page to try again.", "error"),
  });
}

function onRemoteTrack(track, mid, on, metadata) {
  const id = `remote-${mid}`;
  const existing = document.getElementById(id);
  if (!on) {
    if (existing && !(metadata && metadata.reason === "mute")) existing.closest(".video-tile, audio").remove();
    return;
  }
  if (existing) return;
  if (track.kind === "audio") {
    const audio = document.createElement("audio");
    audio.id = id;
    audio.autoplay = true;
    audio.srcObject = new MediaStream([track]);
    remotes.append(audio);
    return;
  }
  const tile = document.createElement("figure");
  tile.className = "video-tile";
  tile.dataset.feed = String(mids.get(mid) || "");
  const video = document.createElement("video");
  video.id = id;
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // the sound plays through the feed's own audio element
  video.srcObject = new MediaStream([track]);
  video.addEventListener("playing", () => mark("remotePlaying"));
  const caption = document.createElement("figcaption");
  caption.textContent = "Participant";
  tile.append(video, caption);
  remotes.append(tile);
  video.play().catch(() => {});
}

function removeFeed(feedId) {
  subscribed.delete(feedId);
  for (const [mid, feed] of mids) {
    if (feed !== feedId) continue;
    const element = document.getElementById(`remote-${mid}`);
    if (element) element.closest(".video-tile, audio").remove();
    mids.delete(mid);
  }
}

function hangUp() {
  leaving = true;
  teardown();
  if (localStream) localStream.getTracks().forEach((track) => track.stop());
  leaveButton.hidden = true;
}

function leave() {
  if (seat && !leaving) {
    const form = new FormData();
    form.append("csrfmiddlewaretoken", root.dataset.csrf);
    navigator.sendBeacon(seatUrl(root.dataset.leftUrl), form);
  }
  hangUp();
}

leaveButton.addEventListener("click", () => {
  leave();
  say("You left the session. Reload this page to join again.");
});
window.addEventListener("pagehide", leave);

Janus.init({
  debug: false,
  dependencies: Janus.useDefaultDependencies({ adapter: window.adapter }),
  callback: async () => {
    if (!Janus.isWebrtcSupported()) {
      say("This browser cannot hold video calls. Use a recent Firefox, Chrome, Edge or Safari.", "error");
      return;
    }
    if (!(await startCamera())) return;
    if (await takeSeat()) poll();
  },
});
