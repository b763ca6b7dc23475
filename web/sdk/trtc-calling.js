// termcall browser SDK: the TRTCCalling API (trtc-calling-js) over termcall's
// signaling server (`termcall serve`, docs/protocol.md) with WebRTC media in
// a mesh of RTCPeerConnections. No build step, no dependencies.
//
// The server is the authority on invitations, timers, busy lines and call
// membership: this module mirrors its state from replies and pushes, the way
// termcall's Go engine (callcore) does, and emits the same events with the
// same payload field names (callcore/events.go). Local state changes only
// when the server confirms, so a failed request never leaves it stuck.
//
// Usage:
//   import TRTCCalling from '/sdk/trtc-calling.js';
//   const tc = new TRTCCalling({SDKAppID: 1400000000});
//   tc.on(TRTCCalling.EVENT.INVITED, ({inviteID}) => tc.accept({inviteID}));
//   await tc.login({userID: 'alice', userSig});
//   await tc.call({userID: 'bob', type: TRTCCalling.CALL_TYPE.VIDEO_CALL, timeout: 30});

/** Event constants → the strings emitted (as in trtc-calling-js). */
const EVENT = Object.freeze({
  ERROR: 'onError',
  SDK_READY: 'sdkReady',
  INVITED: 'onInvited',
  USER_ACCEPT: 'onUserAccept',
  USER_ENTER: 'onUserEnter',
  USER_LEAVE: 'onUserLeave',
  REJECT: 'onReject',
  LINE_BUSY: 'onLineBusy',
  NO_RESP: 'onNoResp',
  CALLING_TIMEOUT: 'onCallingTimeout',
  CALLING_CANCEL: 'onCallingCancel',
  CALL_END: 'onCallEnd',
  CALLING_END: 'onCallEnd',
  KICKED_OUT: 'onKickedOut',
  USER_VIDEO_AVAILABLE: 'onUserVideoAvailable',
  USER_AUDIO_AVAILABLE: 'onUserAudioAvailable',
  USER_VOICE_VOLUME: 'onUserVoiceVolume',
  GROUP_CALL_INVITEE_LIST_UPDATE: 'onGroupCallInviteeListUpdate',
  // termcall's own, as the Go engine emits them.
  CALL_TYPE_CHANGED: 'onCallTypeChanged',
  PRESENCE: 'onPresence',
  DEVICED_UPDATED: 'onDeviceUpdated',
  DEVICE_UPDATED: 'onDeviceUpdated',
});

/** Call types. */
const CALL_TYPE = Object.freeze({ AUDIO_CALL: 1, VIDEO_CALL: 2 });

/** Error codes (600xx TRTCCalling's, 601xx termcall's, 4xxx/5000 the server's). */
const ERROR_CODE = Object.freeze({
  SWITCH_TO_AUDIO_FAILED: 60001,
  SWITCH_TO_VIDEO_FAILED: 60002,
  NO_MICROPHONE: 60003,
  NO_CAMERA: 60004,
  NOT_MEDIA_ACCESS: 60005,
  NO_WEBRTC: 60006,
  MEDIA_FAILED: 60101,
  ICE_SERVER: 60102,
  UNSUPPORTED_CODEC: 60103,
  DEVICE_FAILED: 60104,
  BAD_REQUEST: 4000,
  TOO_LARGE: 4002,
  NOT_LOGGED_IN: 4010,
  UNKNOWN_INVITE: 4040,
  WRONG_STATE: 4090,
  INTERNAL: 5000,
});

const MAX_FRAME = 64 << 10;
const MAX_INVITEES = 16;
const MAX_TIMEOUT = 3600;
const REQUEST_TIMEOUT = 15000;
const RECONNECT_MIN = 100;
const RECONNECT_MAX = 3000;
const CONNECT_TIMEOUT = 15000; // media not up within this: ERROR 60101
const DOWN_AFTER = 10000; // media lost this long: USER_LEAVE media_lost
const RESTART_TICK = 1000;
const VOLUME_EVERY = 1000; // as the Go engine's USER_VOICE_VOLUME
const MAX_QUEUED_CANDIDATES = 64;
const USERID_RE = /^[A-Za-z0-9_-]{1,32}$/;

/** Video profiles for setVideoQuality (the Go engine's, plus 1080p). */
const VIDEO_PROFILES = Object.freeze({
  '120p': { width: 160, height: 120, frameRate: 15, bitrate: 100 },
  '180p': { width: 320, height: 180, frameRate: 15, bitrate: 220 },
  '240p': { width: 320, height: 240, frameRate: 15, bitrate: 300 },
  '360p': { width: 640, height: 360, frameRate: 20, bitrate: 600 },
  '480p': { width: 640, height: 480, frameRate: 20, bitrate: 800 },
  '720p': { width: 1280, height: 720, frameRate: 24, bitrate: 1500 },
  '1080p': { width: 1920, height: 1080, frameRate: 24, bitrate: 2500 },
});
const DEFAULT_QUALITY = '240p';

/** An Error with a numeric code, what every method rejects with. */
class TRTCCallingError extends Error {
  /** @param {number} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = 'TRTCCallingError';
    this.code = code;
  }
}

const err = (code, message) => new TRTCCallingError(code, message);
const warn = (...a) => { try { console.warn('[trtc-calling]', ...a); } catch (_) { /* no console */ } };
const now = () => Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const validCallType = (t) => t === 1 || t === 2;
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function randomHex(bytes) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

function presenceOf(x) {
  const d = { userID: x.userID, status: x.status };
  if (x.nickName) d.nickName = x.nickName;
  if (x.avatar) d.avatar = x.avatar;
  return d;
}

function volumeFromLevel(level) {
  // audioLevel is linear 0..1 (1 = 0 dBov); the Go engine maps dBFS
  // -60..0 linearly to 0..100.
  if (!(level > 0)) return 0;
  const db = 20 * Math.log10(level);
  return Math.round(Math.max(0, Math.min(100, ((db + 60) / 60) * 100)));
}

/**
 * TRTCCalling: the call component.
 */
class TRTCCalling {
  /**
   * @param {{SDKAppID: number, server?: string}} options
   */
  constructor(options = {}) {
    this.SDKAppID = Number(options.SDKAppID) || 0;
    let server = options.server;
    if (!server) {
      // The server that served this module: a page on another origin that
      // imports it from termcall needs no `server` either.
      const u = new URL('/ws', import.meta.url);
      if (u.protocol === 'http:' || u.protocol === 'https:') {
        u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
        server = u.href;
      } else if (typeof location !== 'undefined') {
        server = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
      }
    }
    this._server = server;
    this._sessionID = randomHex(16);
    this._handlers = new Map(); // event string -> [{cb, ctx}]
    this._evq = [];
    this._evDraining = false;

    // signaling
    this._ws = null;
    this._wsReady = false; // logged in on the current socket
    this._readyWaiters = [];
    this._pending = new Map(); // id -> {resolve, reject, type, timer}
    this._nextID = 0;
    this._link = null; // {userID, userSig, gen} while logged in (or logging in)
    this._loggedIn = false;
    this._userID = '';
    this._ice = [];

    // call state
    this._invites = new Map(); // inviteID -> {body, confirmed}
    this._room = null;
    this._left = null;
    this._micMuted = false;
    this._camClosed = false;
    this._camOn = false;

    // local media
    this._local = { audio: null, video: null };
    this._devices = { audio: undefined, video: undefined, speaker: undefined };
    this._quality = VIDEO_PROFILES[DEFAULT_QUALITY];
    this._localViews = new Set();
    this._gumFailed = { audio: false, video: false };
    this._watching = [];
    this._self = null;
    this._remoteViews = new Map(); // userID -> Set(domID)
  }

  // ------------------------------------------------------------ events

  /**
   * Subscribes to an event.
   * @param {string} eventName  one of TRTCCalling.EVENT's values
   * @param {Function} callback
   * @param {any} [context]  `this` for the callback
   */
  on(eventName, callback, context) {
    if (typeof callback !== 'function') return;
    const name = this._eventString(eventName);
    if (!this._handlers.has(name)) this._handlers.set(name, []);
    this._handlers.get(name).push({ cb: callback, ctx: context });
  }

  /**
   * Cancels a subscription: the same callback and context; without a
   * callback every subscription of the event.
   */
  off(eventName, callback, context) {
    const name = this._eventString(eventName);
    const list = this._handlers.get(name);
    if (!list) return;
    if (!callback) { this._handlers.delete(name); return; }
    const rest = list.filter((h) => !(h.cb === callback && (context === undefined || h.ctx === context)));
    if (rest.length) this._handlers.set(name, rest); else this._handlers.delete(name);
  }

  _eventString(name) {
    // Also accept the constant's key ('INVITED') for convenience.
    if (typeof name === 'string' && Object.prototype.hasOwnProperty.call(EVENT, name)) return EVENT[name];
    return name;
  }

  // Events are queued and run in order, outside the code that caused them:
  // a handler may call any method; its exceptions are caught.
  _emit(name, data) {
    this._evq.push([name, data]);
    if (this._evDraining) return;
    this._evDraining = true;
    queueMicrotask(() => {
      while (this._evq.length) {
        const [n, d] = this._evq.shift();
        const list = (this._handlers.get(n) || []).slice();
        for (const h of list) {
          try { h.cb.call(h.ctx, d); } catch (e) { warn(`handler of ${n} threw`, e); }
        }
      }
      this._evDraining = false;
    });
  }

  _error(code, msg) {
    this._emit(EVENT.ERROR, { code, msg, message: msg });
  }

  // ------------------------------------------------------------ signaling

  _url(resume) {
    if (!resume || !this._link) return this._server;
    const u = new URL(this._server, typeof location !== 'undefined' ? location.href : undefined);
    u.searchParams.set('userID', this._link.userID);
    u.searchParams.set('sessionID', this._sessionID);
    return u.toString();
  }

  // Opens a websocket; resolves with it once open.
  _open(url) {
    return new Promise((resolve, reject) => {
      let ws;
      try { ws = new WebSocket(url); } catch (e) { reject(err(ERROR_CODE.INTERNAL, `websocket: ${e.message}`)); return; }
      let opened = false;
      ws.onopen = () => { opened = true; resolve(ws); };
      ws.onerror = () => { if (!opened) reject(err(ERROR_CODE.INTERNAL, `cannot connect to ${url}`)); };
      ws.onclose = (ev) => { if (!opened) reject(err(ERROR_CODE.INTERNAL, `connection to ${url} closed (${ev.code})`)); };
    });
  }

  // Makes ws the current socket of link l.
  _install(ws, l) {
    this._ws = ws;
    this._wsReady = false;
    ws.onmessage = (ev) => {
      if (this._ws !== ws) return;
      try { this._onFrame(ws, ev.data); } catch (e) { warn('frame handling failed', e); }
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => this._onClose(ws, l, ev);
  }

  _onFrame(ws, data) {
    if (typeof data !== 'string') { warn('ignoring a binary message'); return; }
    let f;
    try { f = JSON.parse(data); } catch (e) { warn('ignoring a frame that is not JSON'); return; }
    if (!isObj(f) || typeof f.type !== 'string' || !f.type) { warn('ignoring a malformed frame', data.slice(0, 200)); return; }
    const body = f.body === undefined || f.body === null ? {} : f.body;
    if (f.id && (f.type === 'reply' || f.type === 'error')) {
      const p = this._pending.get(f.id);
      if (!p || p.ws !== ws) { warn('answer to an unknown request', f.id); return; }
      this._pending.delete(f.id);
      clearTimeout(p.timer);
      if (f.type === 'error') {
        p.reject(err(Number(body.code) || ERROR_CODE.INTERNAL, String(body.message || 'server error')));
      } else {
        try { p.resolve(isObj(body) ? body : {}); } catch (e) { warn(e); }
      }
      return;
    }
    if (!isObj(body)) { warn('ignoring a push with a bad body', f.type); return; }
    this._onPush(f.type, body);
  }

  // Sends a request on ws (default: the current, logged-in socket).
  _request(type, body, { ws, timeout = REQUEST_TIMEOUT } = {}) {
    return new Promise((resolve, reject) => {
      const sock = ws || (this._wsReady ? this._ws : null);
      if (!sock || sock.readyState !== WebSocket.OPEN) {
        reject(err(this._link ? ERROR_CODE.INTERNAL : ERROR_CODE.NOT_LOGGED_IN, this._link ? 'not connected to the server' : 'not logged in'));
        return;
      }
      const id = ++this._nextID;
      const frame = { type, id };
      if (body !== undefined) frame.body = body;
      const text = JSON.stringify(frame);
      if (text.length > MAX_FRAME) { reject(err(ERROR_CODE.TOO_LARGE, `${type} frame over 64 KiB`)); return; }
      const timer = setTimeout(() => {
        if (this._pending.delete(id)) reject(err(ERROR_CODE.INTERNAL, `${type}: no answer from the server`));
      }, timeout);
      this._pending.set(id, { resolve, reject, type, timer, ws: sock });
      try { sock.send(text); } catch (e) {
        this._pending.delete(id); clearTimeout(timer);
        reject(err(ERROR_CODE.INTERNAL, `${type}: ${e.message}`));
      }
    });
  }

  // Waits (a little) for a logged-in socket, then sends: requests made
  // while the socket is being resumed are not lost.
  async _call(type, body) {
    if (!this._link || !this._loggedIn) throw err(ERROR_CODE.NOT_LOGGED_IN, 'not logged in');
    if (!this._wsReady) await this._waitReady(5000);
    return this._request(type, body);
  }

  _waitReady(ms) {
    if (this._wsReady) return Promise.resolve();
    return new Promise((resolve) => {
      const w = () => { clearTimeout(t); resolve(); };
      const t = setTimeout(() => { this._readyWaiters = this._readyWaiters.filter((x) => x !== w); resolve(); }, ms);
      this._readyWaiters.push(w);
    });
  }

  _setReady() {
    this._wsReady = true;
    const ws = this._readyWaiters; this._readyWaiters = [];
    ws.forEach((w) => w());
  }

  // A frame with id 0: no reply (errors come back as pushes).
  _notify(type, body) {
    if (!this._wsReady || !this._ws || this._ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify({ type, body });
    if (text.length > MAX_FRAME) { warn(`${type} frame over 64 KiB dropped`); return false; }
    try { this._ws.send(text); return true; } catch (e) { return false; }
  }

  _failPending(ws, message) {
    for (const [id, p] of this._pending) {
      if (p.ws !== ws) continue;
      this._pending.delete(id);
      clearTimeout(p.timer);
      p.reject(err(ERROR_CODE.INTERNAL, message));
    }
  }

  _onClose(ws, l, ev) {
    this._failPending(ws, `connection closed (${ev.code})`);
    if (this._ws !== ws) return;
    this._ws = null;
    this._wsReady = false;
    if (this._link !== l || !this._loggedIn || this._reconnecting === l) return;
    // A dropped socket: redial and resume the session.
    this._reconnecting = l;
    this._reconnect(l).finally(() => { if (this._reconnecting === l) this._reconnecting = null; });
  }

  // Redials with backoff (100 ms doubling to 3 s, jittered) until the
  // session is resumed or the login is dropped.
  async _reconnect(l) {
    let delay = RECONNECT_MIN;
    while (this._link === l && this._loggedIn) {
      const wait = delay / 2 + Math.random() * (delay / 2);
      await sleep(wait);
      if (this._link !== l || !this._loggedIn) return;
      delay = Math.min(delay * 2, RECONNECT_MAX);
      let ws;
      try { ws = await this._open(this._url(true)); } catch (e) { continue; }
      if (this._link !== l || !this._loggedIn) { try { ws.close(1000); } catch (_) { /* */ } return; }
      this._install(ws, l);
      try {
        const rep = await this._request('login', this._loginBody(l), { ws });
        if (this._link !== l || this._ws !== ws) return;
        await this._applyResume(l, ws, rep);
        return;
      } catch (e) {
        if (e.code >= 4012 && e.code <= 4016) { this._loginLost(l, e); return; }
        warn('resume failed', e.message);
        if (this._ws === ws) { this._ws = null; try { ws.close(1000); } catch (_) { /* */ } }
        // _onClose of ws does nothing now (it is no longer current): loop.
      }
    }
  }

  _loginBody(l) {
    return { sdkAppID: this.SDKAppID, userID: l.userID, userSig: l.userSig, sessionID: this._sessionID };
  }

  // Brings the mirror in line with a resumed (or new) session's state.
  async _applyResume(l, ws, rep) {
    for (const inv of this._invites.values()) inv.confirmed = false;
    this._ice = Array.isArray(rep.iceServers) ? rep.iceServers : [];
    if (this._left) {
      const lr = this._left; this._left = null;
      this._emit(EVENT.CALL_END, { userID: this._userID, callEnd: lr.duration(), reason: 'hangup', roomID: lr.id });
    }
    let r = this._room;
    const st = rep.resumed && isObj(rep.room) ? rep.room : null;
    if (r && (!st || st.roomID !== r.id)) { this._lostRoom(r); r = null; }
    if (st) {
      if (!r) {
        r = this._roomFromState(st);
        this._room = r;
        this._openRoom(r);
      }
      if (validCallType(st.callType) && st.callType !== r.callType) {
        const old = this._changeCallType(r, st.callType);
        this._emit(EVENT.CALL_TYPE_CHANGED, { oldCallType: old, newCallType: st.callType, userID: '' });
      }
      const present = new Map();
      for (const m of st.members || []) if (m && m.userID !== this._userID) present.set(m.userID, m);
      for (const u of [...r.members.keys()].sort()) if (!present.has(u)) this._memberGone(r, u, 'disconnected');
      for (const m of present.values()) {
        const old = r.members.get(m.userID);
        if (old) { this._setMemberMedia(m.userID, old, !!m.audio, !!m.video); continue; }
        this._memberArrived(r, m, true);
      }
      const pend = Array.isArray(st.pending) ? st.pending : [];
      if (JSON.stringify(pend) !== JSON.stringify(r.pending)) {
        r.pending = pend.slice();
        if (r.isGroup) this._emit(EVENT.GROUP_CALL_INVITEE_LIST_UPDATE, { userIDList: pend.slice() });
      }
      // Offer again to members whose connection is gone.
      for (const u of r.members.keys()) {
        this._mediaOp(r, (md) => {
          const p = md.peers.get(u);
          if (!p) return this._addPeer(r, md, u, true);
          const cs = p.pc.connectionState;
          if (cs === 'failed' || cs === 'closed') { this._closePeer(md, u); return this._addPeer(r, md, u, true); }
          return undefined;
        });
      }
    }
    this._setReady();
    // Ringing invitations are re-delivered right after the login; a ping
    // fences them. The rest ended meanwhile.
    try {
      await this._request('ping', undefined, { ws });
      if (this._link !== l) return;
      for (const [id, inv] of this._invites) {
        if (!inv.confirmed) {
          this._invites.delete(id);
          this._emit(EVENT.CALLING_CANCEL, { inviteID: id, sponsor: inv.body.sponsor, reason: 'disconnected' });
        }
      }
    } catch (_) { /* the next reconnect tries again */ }
    // A new server session has forgotten our self info and watch list; a
    // resumed one may have missed changes: send them again.
    if (this._self && (this._self.nickName || this._self.avatar)) {
      this._request('setSelfInfo', this._self, { ws }).catch((e) => warn('self info not restored', e.message));
    }
    if (this._watching.length) {
      try {
        const rep2 = await this._request('watch', { users: this._watching.slice() }, { ws });
        for (const x of (Array.isArray(rep2.presence) ? rep2.presence : [])) this._emit(EVENT.PRESENCE, presenceOf(x));
      } catch (e) { warn('watch list not restored', e.message); }
    }
  }

  _loginLost(l, e) {
    if (this._link !== l) return;
    this._error(e.code, e.message);
    if (this._room) this._lostRoom(this._room);
    this._dropLink(l);
  }

  // Ends the current call locally as disconnected.
  _lostRoom(r) {
    for (const u of [...r.members.keys()].sort()) this._memberGone(r, u, 'disconnected');
    this._endRoom(r, { userID: r.inviter, callEnd: r.duration(), reason: 'disconnected', roomID: r.id });
  }

  // Forgets a login and every call state silently, and closes its socket.
  _dropLink(l) {
    if (this._link !== l) return;
    this._watchDevices(false);
    this._watching = [];
    this._self = null;
    this._link = null;
    this._loggedIn = false;
    this._wsReady = false;
    if (this._room) { this._closeRoom(this._room); this._room = null; }
    this._left = null;
    this._invites.clear();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      this._failPending(ws, 'logged out');
      try { ws.close(1000); } catch (_) { /* */ }
    }
  }

  // ------------------------------------------------------------ login

  /**
   * Logs in. Resolves once the server accepted the login (SDK_READY is
   * emitted then).
   * @param {{userID: string, userSig: string}} params
   */
  async login({ userID, userSig } = {}) {
    if (!USERID_RE.test(userID || '') || !userSig) throw err(ERROR_CODE.BAD_REQUEST, `invalid userID ${JSON.stringify(userID)} or empty userSig`);
    if (typeof WebSocket === 'undefined') throw err(ERROR_CODE.NO_WEBRTC, 'no WebSocket in this browser');
    if (this._link) throw err(ERROR_CODE.WRONG_STATE, 'already logged in (or logging in)');
    const l = { userID, userSig };
    this._link = l;
    let ws;
    try {
      ws = await this._open(this._url(false));
    } catch (e) {
      if (this._link === l) this._link = null;
      throw e;
    }
    if (this._link !== l) { try { ws.close(1000); } catch (_) { /* */ } throw err(ERROR_CODE.INTERNAL, 'login: logged out meanwhile'); }
    this._install(ws, l);
    let rep;
    try {
      rep = await this._request('login', this._loginBody(l), { ws });
    } catch (e) {
      if (this._link === l) {
        this._link = null;
        this._ws = null;
        try { ws.close(1000); } catch (_) { /* */ }
      }
      throw e;
    }
    if (this._link !== l) throw err(ERROR_CODE.INTERNAL, 'login: logged out meanwhile');
    this._loggedIn = true;
    this._userID = userID;
    this._ice = Array.isArray(rep.iceServers) ? rep.iceServers : [];
    this._setReady();
    this._emit(EVENT.SDK_READY, { name: 'ts_im_ready', userID });
    this._watchDevices(true);
  }

  // DEVICE_UPDATED when a camera, microphone or speaker comes or goes.
  _watchDevices(on) {
    const md = typeof navigator !== 'undefined' && navigator.mediaDevices;
    if (!md || !md.addEventListener) return;
    if (!this._onDeviceChange) {
      this._onDeviceChange = async () => {
        try {
          const [cameras, microphones, speakers] = await Promise.all([this.getCameras(), this.getMicrophones(), this.getSpeakers()]);
          this._emit(EVENT.DEVICE_UPDATED, { cameras, microphones, speakers });
        } catch (e) { warn('device listing', e.message); }
      };
    }
    if (on) md.addEventListener('devicechange', this._onDeviceChange);
    else md.removeEventListener('devicechange', this._onDeviceChange);
  }

  /**
   * Logs out: leaves any call (the others see USER_LEAVE reason logout);
   * no events for our own leaving.
   */
  async logout() {
    const l = this._link;
    if (!l || !this._loggedIn) throw err(ERROR_CODE.NOT_LOGGED_IN, 'not logged in');
    let failure = null;
    try {
      if (this._wsReady) await this._request('logout', undefined, { timeout: 2000 });
    } catch (e) { failure = e; }
    this._dropLink(l);
    this._releaseLocal(true);
    if (failure) throw failure;
  }

  // ------------------------------------------------------------ calls

  _state() {
    if (this._room && this._room.members.size > 0) return 'connected';
    if (this._room) return 'dialing';
    if (this._invites.size > 0) return 'ringing';
    return 'idle';
  }

  _requireLogin() {
    if (!this._link || !this._loggedIn) throw err(ERROR_CODE.NOT_LOGGED_IN, 'not logged in');
  }

  /**
   * Makes a 1:1 call. Resolves once the server has opened the call, with
   * {inviteID, roomID, invitees}.
   * @param {{userID: string, type: number, timeout?: number}} params
   */
  async call({ userID, type, timeout } = {}) {
    if (timeout === undefined || timeout === null) timeout = 30;
    timeout = Number(timeout);
    if (!USERID_RE.test(userID || '') || !validCallType(type) || !Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TIMEOUT) {
      throw err(ERROR_CODE.BAD_REQUEST, `call ${JSON.stringify(userID)} type ${type} timeout ${timeout}: invalid argument`);
    }
    this._requireLogin();
    if (userID === this._userID) throw err(ERROR_CODE.BAD_REQUEST, 'cannot call yourself');
    const st = this._state();
    if (st !== 'idle') throw err(ERROR_CODE.WRONG_STATE, `call while ${st}`);
    return this._invite({ invitees: [userID], callType: type, timeout });
  }

  /**
   * Makes a group call (or, in a call, adds the users to it).
   * @param {{userIDList: string[], type: number, groupID?: string, timeout?: number}} params
   */
  async groupCall({ userIDList, type, groupID, timeout } = {}) {
    const users = Array.isArray(userIDList) ? userIDList.slice() : [];
    if (timeout === undefined || timeout === null) timeout = 30;
    if (!validCallType(type) || (users.length === 0 && !groupID) || users.length > MAX_INVITEES ||
        !Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TIMEOUT) {
      throw err(ERROR_CODE.BAD_REQUEST, `group call of ${users.length} users, type ${type}: invalid argument`);
    }
    this._requireLogin();
    const seen = new Set();
    for (const u of users) {
      if (!USERID_RE.test(u || '') || u === this._userID || seen.has(u)) throw err(ERROR_CODE.BAD_REQUEST, `invitee ${JSON.stringify(u)}`);
      seen.add(u);
    }
    if (this._state() === 'ringing') throw err(ERROR_CODE.WRONG_STATE, 'group call while ringing');
    const req = { invitees: users, callType: type, timeout };
    if (groupID) req.groupID = String(groupID);
    if (this._room) req.roomID = this._room.id;
    return this._invite(req);
  }

  async _invite(req) {
    const rep = await this._call('invite', req);
    const invitees = Array.isArray(rep.invitees) ? rep.invitees : [];
    const info = { inviteID: rep.inviteID, roomID: rep.roomID, invitees: invitees.slice() };
    this._left = null;
    if (this._room && this._room.id === rep.roomID) {
      this._room.isGroup = true;
      for (const u of invitees) if (!this._room.pending.includes(u)) this._room.pending.push(u);
      return info;
    }
    if (this._room) this._closeRoom(this._room);
    this._room = this._newRoom({
      id: rep.roomID, callType: req.callType, inviter: this._userID,
      isGroup: !!req.groupID || req.invitees.length > 1, pending: invitees.slice(),
    });
    this._openRoom(this._room);
    this._sendMediaState();
    return info;
  }

  _pickInvite(inviteID) {
    if (inviteID) return this._invites.get(inviteID) || null;
    let best = null;
    for (const inv of this._invites.values()) if (!best || (inv.body.sentAt || 0) > (best.body.sentAt || 0)) best = inv;
    return best;
  }

  _answering(inviteID, callType) {
    if (callType !== undefined && callType !== null && callType !== 0 && !validCallType(callType)) {
      throw err(ERROR_CODE.BAD_REQUEST, `call type ${callType}`);
    }
    this._requireLogin();
    const inv = this._pickInvite(inviteID);
    if (!inv) throw err(ERROR_CODE.UNKNOWN_INVITE, 'no such invitation');
    return inv;
  }

  _forgetUnknownInvite(e, id) {
    if (e && e.code === ERROR_CODE.UNKNOWN_INVITE) this._invites.delete(id);
  }

  /**
   * Accepts an invitation and joins its call. inviteID omitted: the
   * ringing one; roomID/callType omitted: the invitation's.
   * @param {{inviteID?: string, roomID?: number, callType?: number}} params
   */
  async accept({ inviteID, roomID, callType } = {}) {
    const inv = this._answering(inviteID, callType);
    if (roomID && Number(roomID) !== inv.body.roomID) throw err(ERROR_CODE.BAD_REQUEST, `room ${roomID} is not the invitation's (${inv.body.roomID})`);
    const id = inv.body.inviteID;
    // Ask for the devices first (the permission prompt), so that the
    // connections expose real host addresses (not mDNS names).
    await this._acquireLocal(inv.body.callType === 2 && !this._camClosed);
    let rep;
    try {
      rep = await this._call('accept', { inviteID: id });
    } catch (e) { this._forgetUnknownInvite(e, id); throw e; }
    this._invites.delete(id);
    this._left = null;
    if (this._room) this._closeRoom(this._room);
    const st = isObj(rep.room) ? rep.room : { roomID: inv.body.roomID, callType: inv.body.callType, inviter: inv.body.sponsor, members: [], pending: [] };
    this._room = this._roomFromState(st);
    this._openRoom(this._room);
    // The accepter joined last: it offers media to everyone there.
    for (const m of st.members || []) if (m && m.userID !== this._userID) this._memberArrived(this._room, m, true);
    this._sendMediaState();
  }

  /**
   * Rejects an invitation.
   * @param {{inviteID?: string, isBusy?: boolean, callType?: number}} params
   */
  async reject({ inviteID, isBusy, callType } = {}) {
    const inv = this._answering(inviteID, callType);
    const id = inv.body.inviteID;
    const body = { inviteID: id };
    if (isBusy) body.busy = true;
    try {
      await this._call('reject', body);
    } catch (e) { this._forgetUnknownInvite(e, id); throw e; }
    this._invites.delete(id);
  }

  /**
   * Leaves the current call; while dialing it cancels the call. Resolves
   * after CALL_END has been emitted.
   */
  async hangup() { return this._hangup(''); }

  async _hangup(reason) {
    this._requireLogin();
    const r = this._room;
    if (!r) throw err(ERROR_CODE.WRONG_STATE, 'hangup while not in a call');
    await this._call('hangup', reason ? { reason } : undefined);
    if (this._room === r) {
      this._closeRoom(r);
      this._room = null;
      this._left = r;
      r.leftReason = reason;
    }
    // Pushes caused by our hangup (callEnded) come before the answer to a
    // later request: a ping fences them.
    try { await this._request('ping', undefined, { timeout: 5000 }); } catch (_) { /* finish anyway */ }
    this._finishLeft(r);
  }

  _finishLeft(r) {
    if (this._left !== r) return;
    this._left = null;
    this._emit(EVENT.CALL_END, { userID: this._userID, callEnd: r.duration(), reason: r.leftReason || 'hangup', roomID: r.id });
  }

  /** Switches the 1:1 call to audio (CALL_TYPE_CHANGED follows). */
  switchToAudioCall() { return this._switchType(1); }

  /** Switches the 1:1 call to video (CALL_TYPE_CHANGED follows). */
  switchToVideoCall() { return this._switchType(2); }

  async _switchType(t) {
    const code = t === 1 ? ERROR_CODE.SWITCH_TO_AUDIO_FAILED : ERROR_CODE.SWITCH_TO_VIDEO_FAILED;
    const r = this._room;
    if (!this._loggedIn) throw err(code, 'not logged in');
    if (!r || r.isGroup || r.callType === t) throw err(code, 'switch needs a 1:1 call of the other type');
    try {
      await this._call('switchCallType', { callType: t });
    } catch (e) {
      throw err(code, `switch call type: ${e.message} (code ${e.code})`);
    }
  }

  // ------------------------------------------------------------ mic/camera

  /** Mutes (true) or unmutes the microphone; the others get USER_AUDIO_AVAILABLE. */
  async setMicMute(isMute) {
    this._micMuted = !!isMute;
    if (this._local.audio) this._local.audio.enabled = !this._micMuted;
    if (!this._room) return;
    await this._pushMediaState();
  }

  /** Turns the camera on; in a call the others get USER_VIDEO_AVAILABLE. */
  openCamera() { return this._setCamera(true); }

  /** Turns the camera off; in a call the others get USER_VIDEO_AVAILABLE. */
  closeCamera() { return this._setCamera(false); }

  async _setCamera(on) {
    if (on) this._gumFailed.video = false;
    this._camOn = on;
    this._camClosed = !on;
    const r = this._room;
    if (r) {
      await this._applyCamera(r);
      await this._pushMediaState();
    } else if (!on && this._local.video && this._localViews.size === 0) {
      this._stopTrack('video');
    }
  }

  // Puts the camera (or nothing) on every connection's video sender.
  _applyCamera(r) {
    return this._mediaOp(r, async (md) => {
      if (this._camOn) await this._acquireLocal(true);
      const track = this._camOn ? this._local.video : null;
      if (this._local.video) this._local.video.enabled = this._camOn || this._localViews.size > 0;
      for (const p of md.peers.values()) {
        const s = p.video && p.video.sender;
        if (s && s.track !== track) await s.replaceTrack(track).catch((e) => warn('replaceTrack', e));
      }
      // A closed camera is released (its light goes off) unless previewed.
      if (!this._camOn && this._localViews.size === 0 && this._local.video) this._stopTrack('video');
      this._refreshLocalViews();
    });
  }

  async _pushMediaState() {
    await this._call('mediaState', { audio: !this._micMuted, video: this._camOn });
  }

  _sendMediaState() {
    this._pushMediaState().catch((e) => warn('initial media state not sent', e.message));
  }

  // ------------------------------------------------------------ pushes

  _onPush(type, p) {
    switch (type) {
      case 'invited': return this._onInvited(p);
      case 'inviteAccepted':
        if (!this._room || p.userID === this._userID) return undefined;
        return this._emit(EVENT.USER_ACCEPT, { userID: p.userID });
      case 'inviteRejected':
        if (!this._room || p.userID === this._userID) return undefined;
        if (p.busy) return this._emit(EVENT.LINE_BUSY, { inviteID: p.inviteID, sponsor: p.sponsor, userID: p.userID });
        return this._emit(EVENT.REJECT, { userID: p.userID });
      case 'inviteMissed':
        return this._emit(EVENT.LINE_BUSY, { inviteID: p.inviteID, sponsor: p.sponsor, userID: this._userID });
      case 'inviteCancelled': {
        if (!this._invites.has(p.inviteID)) return undefined; // stale cancels touch nothing
        this._invites.delete(p.inviteID);
        const d = { inviteID: p.inviteID, sponsor: p.sponsor };
        if (p.reason) d.reason = p.reason;
        return this._emit(EVENT.CALLING_CANCEL, d);
      }
      case 'inviteTimeout': {
        const ids = Array.isArray(p.userIDs) ? p.userIDs.slice() : [];
        if (p.sponsor === this._userID) {
          return this._emit(EVENT.NO_RESP, { inviteID: p.inviteID, sponsor: p.sponsor, userID: ids[0] || '', userIDList: ids });
        }
        if (!this._invites.has(p.inviteID)) return undefined;
        this._invites.delete(p.inviteID);
        return this._emit(EVENT.CALLING_TIMEOUT, { inviteID: p.inviteID, sponsor: p.sponsor, userIDList: ids });
      }
      case 'inviteeList': {
        const r = this._room;
        if (!r || r.id !== p.roomID) return undefined;
        r.pending = Array.isArray(p.pending) ? p.pending.slice() : [];
        if (r.isGroup) this._emit(EVENT.GROUP_CALL_INVITEE_LIST_UPDATE, { userIDList: r.pending.slice() });
        return undefined;
      }
      case 'memberJoined': {
        const r = this._room;
        if (!r || r.id !== p.roomID || typeof p.userID !== 'string') return undefined;
        return this._memberArrived(r, { userID: p.userID, audio: !!p.audio, video: !!p.video }, false);
      }
      case 'memberLeft': {
        const r = this._room;
        if (!r || r.id !== p.roomID) return undefined;
        return this._memberGone(r, p.userID, p.reason || '');
      }
      case 'callEnded': return this._onCallEnded(p);
      case 'callTypeChanged': {
        const r = this._room;
        if (!r || r.id !== p.roomID || !validCallType(p.callType) || r.callType === p.callType) return undefined;
        const old = this._changeCallType(r, p.callType);
        return this._emit(EVENT.CALL_TYPE_CHANGED, { oldCallType: old, newCallType: p.callType, userID: p.userID || '' });
      }
      case 'mediaState': {
        const r = this._room;
        if (!r || (p.roomID && r.id !== p.roomID)) return undefined;
        const m = r.members.get(p.userID);
        if (m) this._setMemberMedia(p.userID, m, !!p.audio, !!p.video);
        return undefined;
      }
      case 'relay': {
        const r = this._room;
        if (!r || !r.members.has(p.from)) return undefined;
        const from = p.from; const payload = p.payload;
        return this._mediaOp(r, (md) => this._handleSignal(r, md, from, payload));
      }
      case 'kicked': {
        this._emit(EVENT.KICKED_OUT, { reason: p.reason || 'multipleAccount' });
        // The server removed us from the call; do not reconnect (resuming
        // would kick the new session in turn).
        if (this._link) this._dropLink(this._link);
        this._releaseLocal(false);
        return undefined;
      }
      case 'error':
        return warn('server error for an unanswered frame', p.code, p.message);
      case 'presence':
        if (typeof p.userID !== 'string') return undefined;
        return this._emit(EVENT.PRESENCE, presenceOf(p));
      default:
        return warn('ignoring push', type);
    }
  }

  _onInvited(p) {
    if (typeof p.inviteID !== 'string' || !p.inviteID) { warn('invitation without id'); return; }
    const known = this._invites.get(p.inviteID);
    if (known) { known.confirmed = true; return; }
    this._invites.set(p.inviteID, { body: p, confirmed: true });
    const d = {
      inviteID: p.inviteID,
      sponsor: p.sponsor,
      userIDList: Array.isArray(p.invitees) ? p.invitees.slice() : [],
      isFromGroup: !!p.isFromGroup,
      inviteData: { version: 4, callType: p.callType, callEnd: 0, roomID: p.roomID },
      timeout: p.timeout || 0,
    };
    if (p.groupID) d.groupID = p.groupID;
    if (p.sponsorNickName) d.sponsorNickName = p.sponsorNickName;
    if (p.sponsorAvatar) d.sponsorAvatar = p.sponsorAvatar;
    this._emit(EVENT.INVITED, d);
  }

  _onCallEnded(p) {
    let r = null;
    if (this._room && this._room.id === p.roomID) r = this._room;
    else if (this._left && this._left.id === p.roomID) { r = this._left; this._left = null; } else return;
    const by = p.by || r.inviter;
    const data = { userID: by, callEnd: p.duration || 0, reason: p.reason || '', roomID: p.roomID };
    if (data.reason === 'media_failed' && !r.mediaFailed) {
      r.mediaFailed = true;
      this._error(ERROR_CODE.MEDIA_FAILED, `media with ${by} never connected`);
    }
    if (this._room === r) this._endRoom(r, data);
    else this._emit(EVENT.CALL_END, data);
  }

  _setMemberMedia(userID, m, audio, video) {
    if (m.audio !== audio) {
      m.audio = audio;
      this._emit(EVENT.USER_AUDIO_AVAILABLE, { userID, isAudioAvailable: audio });
    }
    if (m.video !== video) {
      m.video = video;
      this._emit(EVENT.USER_VIDEO_AVAILABLE, { userID, isVideoAvailable: video });
    }
  }

  // The camera follows the call type (on for video unless closeCamera was
  // called, off for audio); the others are told.
  _changeCallType(r, t) {
    const old = r.callType;
    r.callType = t;
    const camOn = t === 2 && !this._camClosed;
    if (this._camOn !== camOn) {
      this._camOn = camOn;
      this._applyCamera(r);
      this._sendMediaState();
    }
    return old;
  }

  // ------------------------------------------------------------ rooms

  _newRoom({ id, callType, inviter, isGroup, pending, startedAt }) {
    return {
      id, callType, inviter, isGroup: !!isGroup,
      members: new Map(),
      pending: pending || [],
      startedAt: startedAt || 0,
      media: null,
      mediaFailed: false,
      leftReason: '',
      duration() { return this.startedAt ? Math.floor((now() - this.startedAt) / 1000) : 0; },
    };
  }

  _roomFromState(st) {
    return this._newRoom({
      id: st.roomID, callType: st.callType, inviter: st.inviter || '', isGroup: !!st.isGroup,
      pending: Array.isArray(st.pending) ? st.pending.slice() : [], startedAt: st.startedAt || 0,
    });
  }

  _openRoom(r) {
    this._camOn = r.callType === 2 && !this._camClosed;
    if (typeof RTCPeerConnection === 'undefined') {
      this._error(ERROR_CODE.NO_WEBRTC, 'WebRTC is not supported by this browser');
      return;
    }
    const md = { closed: false, peers: new Map(), chain: Promise.resolve(), volumeTimer: null };
    r.media = md;
    this._mediaOp(r, async () => {
      await this._acquireLocal(this._camOn);
      if (this._local.audio) this._local.audio.enabled = !this._micMuted;
    });
    md.volumeTimer = setInterval(() => this._volumeTick(r), VOLUME_EVERY);
  }

  _closeRoom(r) {
    this._camClosed = false;
    this._gumFailed = { audio: false, video: false };
    for (const u of [...this._remoteViews.keys()]) this._dropRemoteViews(u);
    const md = r.media;
    if (!md) return;
    md.closed = true;
    clearInterval(md.volumeTimer);
    for (const u of [...md.peers.keys()]) this._closePeer(md, u);
    this._releaseLocal(false);
  }

  // Runs f(media) after the room's earlier media operations, in order.
  _mediaOp(r, f) {
    const md = r.media;
    if (!md) return Promise.resolve();
    md.chain = md.chain.then(() => (md.closed ? undefined : f(md))).catch((e) => warn('media:', e));
    return md.chain;
  }

  _memberArrived(r, m, offerer) {
    if (r.members.has(m.userID) || m.userID === this._userID) return;
    const mem = { audio: m.audio !== false, video: !!m.video, entered: false, leaveSent: false, failed: false };
    r.members.set(m.userID, mem);
    if (!r.startedAt) r.startedAt = now();
    r.pending = r.pending.filter((u) => u !== m.userID);
    if (!r.media) {
      mem.entered = true;
      this._emit(EVENT.USER_ENTER, { userID: m.userID });
      return;
    }
    const uid = m.userID;
    this._mediaOp(r, (md) => { if (!md.peers.has(uid)) return this._addPeer(r, md, uid, offerer); return undefined; });
  }

  _memberGone(r, userID, reason) {
    const m = r.members.get(userID);
    if (!m) return;
    r.members.delete(userID);
    this._dropRemoteViews(userID);
    if (r.media) this._closePeer(r.media, userID); // at once: Chromium would stay "connected" ~6 s
    if (m.leaveSent) return;
    const d = { userID };
    if (reason) d.reason = reason;
    this._emit(EVENT.USER_LEAVE, d);
  }

  _endRoom(r, data) {
    if (this._room !== r) return;
    this._closeRoom(r);
    this._room = null;
    this._emit(EVENT.CALL_END, data);
  }

  _hangupLater(reason) {
    this._hangup(reason).catch((e) => { if (e.code !== ERROR_CODE.WRONG_STATE) warn('automatic hangup', e.message); });
  }

  // ------------------------------------------------------------ local media

  // Gets the microphone (and the camera if withVideo) unless held already.
  // Failures are ERROR events; the call goes on receive-only.
  async _acquireLocal(withVideo) {
    const md = typeof navigator !== 'undefined' && navigator.mediaDevices;
    if (!md || !md.getUserMedia) {
      if (!this._noMediaReported) { this._noMediaReported = true; this._error(ERROR_CODE.NO_WEBRTC, 'getUserMedia is not available (insecure context?)'); }
      return;
    }
    // A device that failed is not asked for again until the call ends (or
    // the user asks for it explicitly): one ERROR per device and call.
    const wantA = !this._gumFailed.audio && (!this._local.audio || this._local.audio.readyState === 'ended');
    const wantV = withVideo && !this._gumFailed.video && (!this._local.video || this._local.video.readyState === 'ended');
    if (!wantA && !wantV) return;
    if (this._acquiring) { await this._acquiring; return this._acquireLocal(withVideo); }
    const run = async () => {
      const c = {};
      if (wantA) c.audio = this._audioConstraints();
      if (wantV) c.video = this._videoConstraints();
      try {
        const s = await md.getUserMedia(c);
        for (const t of s.getTracks()) this._setLocalTrack(t.kind, t);
        return;
      } catch (e) {
        if (!(wantA && wantV)) { this._mediaError(e, wantA ? 'audio' : 'video'); return; }
      }
      // Both failed together: try each alone, to keep the one that works.
      for (const kind of ['audio', 'video']) {
        try {
          const s = await md.getUserMedia({ [kind]: kind === 'audio' ? this._audioConstraints() : this._videoConstraints() });
          for (const t of s.getTracks()) this._setLocalTrack(t.kind, t);
        } catch (e) { this._mediaError(e, kind); }
      }
    };
    this._acquiring = run();
    try { await this._acquiring; } finally { this._acquiring = null; }
  }

  _audioConstraints() {
    const c = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (this._devices.audio) c.deviceId = { exact: this._devices.audio };
    return c;
  }

  _videoConstraints() {
    const q = this._quality;
    const c = { width: { ideal: q.width }, height: { ideal: q.height }, frameRate: { ideal: q.frameRate } };
    if (this._devices.video) c.deviceId = { exact: this._devices.video };
    return c;
  }

  _mediaError(e, kind) {
    const name = e && e.name;
    this._gumFailed[kind] = true;
    let code = kind === 'audio' ? ERROR_CODE.NO_MICROPHONE : ERROR_CODE.NO_CAMERA;
    if (name === 'NotAllowedError' || name === 'SecurityError') code = ERROR_CODE.NOT_MEDIA_ACCESS;
    warn(`getUserMedia ${kind}:`, name, e && e.message);
    this._error(code, `${kind === 'audio' ? 'microphone' : 'camera'}: ${name || 'Error'}: ${(e && e.message) || ''}`);
  }

  _setLocalTrack(kind, t) {
    const old = this._local[kind];
    this._local[kind] = t;
    if (old && old !== t) { try { old.stop(); } catch (_) { /* */ } }
    if (kind === 'audio') t.enabled = !this._micMuted;
    if (kind === 'video') this._refreshLocalViews();
    // Ended by the browser (unplugged, revoked): not by our stop().
    t.onended = () => { if (this._local[kind] === t) this._deviceFailed(kind, t); };
  }

  // A device in use failed: ERROR 60104, then the default device on the
  // same RTP stream, the call going on (the Go engine's DeviceFailed).
  async _deviceFailed(kind, t) {
    this._local[kind] = null;
    const from = t.label || this._devices[kind] || 'default';
    this._devices[kind] = undefined;
    this._error(ERROR_CODE.DEVICE_FAILED, `${kind === 'audio' ? 'microphone' : 'camera'} "${from}" failed; now using the default one, the call goes on`);
    const r = this._room;
    if (!r) { if (kind === 'video') this._refreshLocalViews(); return; }
    if (kind === 'video' && !this._camOn && this._localViews.size === 0) return;
    await this._acquireLocal(kind === 'video');
    const track = this._local[kind];
    const md = r.media;
    if (!track || !md) return;
    if (kind === 'video') track.enabled = this._camOn || this._localViews.size > 0;
    for (const p of md.peers.values()) {
      const tr = kind === 'audio' ? p.audio : p.video;
      const send = kind === 'audio' || this._camOn ? track : null;
      if (tr) await tr.sender.replaceTrack(send).catch((e) => warn('replaceTrack', e.message));
    }
  }

  _stopTrack(kind) {
    const t = this._local[kind];
    this._local[kind] = null;
    if (t) { try { t.stop(); } catch (_) { /* */ } }
    if (kind === 'video') this._refreshLocalViews();
  }

  // Releases the devices after a call (the camera stays for a local view).
  _releaseLocal(all) {
    this._stopTrack('audio');
    if (all || this._localViews.size === 0) this._stopTrack('video');
  }

  // ------------------------------------------------------------ peers

  _rtcConfig() {
    const iceServers = [];
    for (const s of this._ice) {
      if (!s || !s.urls) continue;
      const e = { urls: s.urls };
      if (s.username) e.username = s.username;
      if (s.credential) e.credential = s.credential;
      iceServers.push(e);
    }
    return { iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
  }

  _newPC() {
    try { return new RTCPeerConnection(this._rtcConfig()); } catch (e) {
      // A bad ICE server: leave them all out rather than fail the call.
      this._error(ERROR_CODE.ICE_SERVER, `ice servers refused: ${e.message}`);
      return new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    }
  }

  // Creates the connection with userID; the offerer offers at once.
  async _addPeer(r, md, userID, offerer) {
    const pc = this._newPC();
    const p = {
      userID, pc, offerer, up: false, everUp: false, failed: false,
      audio: null, video: null, remoteSet: false, cands: [],
      stream: new MediaStream(), audioEl: null,
      lastOfferAt: 0, restartTimer: null, downTimer: null, connectTimer: null,
    };
    md.peers.set(userID, p);
    pc.onicecandidate = (ev) => {
      if (!ev.candidate || !ev.candidate.candidate) return; // termcall needs no end-of-candidates
      const c = ev.candidate.toJSON();
      this._send(userID, { kind: 'candidate', candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment || null } });
    };
    pc.ontrack = (ev) => this._onTrack(r, p, ev.track);
    pc.onconnectionstatechange = () => this._onConnState(r, md, p);
    p.connectTimer = setTimeout(() => { if (!p.everUp) this._peerFailed(r, p, 'not connected within 15 s'); }, CONNECT_TIMEOUT);
    if (offerer) {
      p.audio = pc.addTransceiver(this._local.audio || 'audio', { direction: 'sendrecv', streams: [this._localStream()] });
      p.video = pc.addTransceiver((this._camOn && this._local.video) || 'video', { direction: 'sendrecv', streams: [this._localStream()] });
      this._prefer(p);
      this._applyBitrate(p);
      await this._offer(p, false);
    }
    return p;
  }

  _localStream() {
    if (!this._lstream) this._lstream = new MediaStream();
    return this._lstream;
  }

  // Opus for audio, VP8 (+rtx) for video: the only codecs termcall takes.
  _prefer(p) {
    const set = (tr, kind, keep) => {
      if (!tr || !tr.setCodecPreferences || typeof RTCRtpReceiver === 'undefined' || !RTCRtpReceiver.getCapabilities) return;
      const caps = RTCRtpReceiver.getCapabilities(kind);
      if (!caps) return;
      const codecs = caps.codecs.filter((c) => keep.includes(c.mimeType.toLowerCase()));
      const first = codecs.filter((c) => c.mimeType.toLowerCase() === keep[0]);
      const rest = codecs.filter((c) => c.mimeType.toLowerCase() !== keep[0]);
      try { if (first.length) tr.setCodecPreferences([...first, ...rest]); } catch (e) { warn('setCodecPreferences', e.message); }
    };
    set(p.audio, 'audio', ['audio/opus']);
    set(p.video, 'video', ['video/vp8', 'video/rtx']);
  }

  _applyBitrate(p) {
    const s = p.video && p.video.sender;
    if (!s || !s.getParameters) return;
    try {
      const params = s.getParameters();
      if (!params.encodings || !params.encodings.length) return; // before negotiation: applied after
      params.encodings[0].maxBitrate = this._quality.bitrate * 1000;
      s.setParameters(params).catch(() => {});
    } catch (_) { /* */ }
  }

  async _offer(p, iceRestart) {
    const offer = await p.pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
    await p.pc.setLocalDescription(offer);
    p.lastOfferAt = now();
    this._send(p.userID, { kind: 'offer', sdp: p.pc.localDescription.sdp });
  }

  _send(to, payload) {
    if (!this._notify('relay', { to, payload })) warn('relay to', to, 'not sent (not connected)');
  }

  _closePeer(md, userID) {
    const p = md.peers.get(userID);
    if (!p) return;
    md.peers.delete(userID);
    clearTimeout(p.connectTimer); clearTimeout(p.downTimer); clearInterval(p.restartTimer);
    p.ended = true;
    try { p.pc.close(); } catch (_) { /* */ }
    if (p.audioEl) { p.audioEl.srcObject = null; p.audioEl.remove(); p.audioEl = null; }
  }

  async _handleSignal(r, md, from, s) {
    if (!isObj(s) || typeof s.kind !== 'string') { warn('bad relay payload from', from); return; }
    let p = md.peers.get(from);
    switch (s.kind) {
      case 'offer': {
        if (typeof s.sdp !== 'string' || !s.sdp) { warn('offer without sdp from', from); return; }
        if (!p) p = await this._addPeer(r, md, from, false);
        if (p.pc.signalingState === 'have-local-offer') { warn('offer from', from, 'crosses ours: refused'); return; }
        await p.pc.setRemoteDescription({ type: 'offer', sdp: s.sdp });
        this._bindTransceivers(p);
        const answer = await p.pc.createAnswer();
        await p.pc.setLocalDescription(answer);
        this._send(from, { kind: 'answer', sdp: p.pc.localDescription.sdp });
        this._applyBitrate(p);
        await this._flushCandidates(p);
        return;
      }
      case 'answer': {
        if (typeof s.sdp !== 'string' || !s.sdp) { warn('answer without sdp from', from); return; }
        if (!p || p.pc.signalingState !== 'have-local-offer') { warn('answer from', from, 'to no offer of ours'); return; }
        await p.pc.setRemoteDescription({ type: 'answer', sdp: s.sdp });
        this._applyBitrate(p);
        await this._flushCandidates(p);
        return;
      }
      case 'candidate': {
        if (!isObj(s.candidate)) { warn('candidate without candidate from', from); return; }
        if (!p) p = await this._addPeer(r, md, from, false);
        const c = s.candidate;
        if (!c.candidate || c.candidate === 'candidate:') return; // end of candidates
        if (!p.pc.remoteDescription) {
          if (p.cands.length < MAX_QUEUED_CANDIDATES) p.cands.push(c); else warn('too many early candidates from', from);
          return;
        }
        await p.pc.addIceCandidate(c).catch((e) => warn('addIceCandidate', e.message));
        return;
      }
      case 'restart': {
        if (!p) { warn('restart from', from, 'with no connection'); return; }
        if (!p.everUp) return;
        await this._restartStep(p, true);
        return;
      }
      default:
        warn('unknown relay kind', s.kind, 'from', from);
    }
  }

  // The answerer's transceivers come from the offer (mid 0 audio, mid 1
  // video): send our tracks on them.
  _bindTransceivers(p) {
    if (p.audio && p.video) return;
    for (const tr of p.pc.getTransceivers()) {
      const kind = tr.receiver && tr.receiver.track && tr.receiver.track.kind;
      if (kind === 'audio' && !p.audio) p.audio = tr;
      else if (kind === 'video' && !p.video) p.video = tr;
    }
    const bind = (tr, track) => {
      if (!tr) return;
      try { tr.direction = 'sendrecv'; } catch (_) { /* */ }
      if (tr.sender.setStreams) { try { tr.sender.setStreams(this._localStream()); } catch (_) { /* */ } }
      if (track) tr.sender.replaceTrack(track).catch((e) => warn('replaceTrack', e.message));
    };
    bind(p.audio, this._local.audio);
    bind(p.video, this._camOn ? this._local.video : null);
    this._prefer(p);
  }

  async _flushCandidates(p) {
    const cs = p.cands; p.cands = [];
    for (const c of cs) await p.pc.addIceCandidate(c).catch((e) => warn('addIceCandidate', e.message));
  }

  _onTrack(r, p, track) {
    if (!p.stream.getTracks().includes(track)) p.stream.addTrack(track);
    if (track.kind === 'audio') {
      // Remote audio plays whatever the views are.
      if (!p.audioEl && typeof document !== 'undefined') {
        const a = document.createElement('audio');
        a.autoplay = true;
        a.style.display = 'none';
        a.dataset.trtcAudio = p.userID;
        if (this._devices.speaker && a.setSinkId) a.setSinkId(this._devices.speaker).catch(() => {});
        (document.body || document.documentElement).appendChild(a);
        p.audioEl = a;
      }
      if (p.audioEl) {
        p.audioEl.srcObject = new MediaStream([track]);
        const pr = p.audioEl.play();
        if (pr && pr.catch) pr.catch((e) => warn('remote audio autoplay', e.name));
      }
    } else if (track.kind === 'video') {
      p.videoTrack = track;
      this._refreshRemoteViews(p.userID);
    }
  }

  _onConnState(r, md, p) {
    if (p.ended || md.closed) return;
    const st = p.pc.connectionState;
    if (st === 'connected') {
      clearTimeout(p.connectTimer);
      clearTimeout(p.downTimer); p.downTimer = null;
      clearInterval(p.restartTimer); p.restartTimer = null;
      p.up = true; p.everUp = true;
      this._applyBitrate(p);
      const m = r.members.get(p.userID);
      if (this._room === r && m && !m.entered) {
        m.entered = true; m.leaveSent = false;
        this._emit(EVENT.USER_ENTER, { userID: p.userID });
      }
      return;
    }
    if (st === 'failed' && !p.everUp) { this._peerFailed(r, p, 'ICE/DTLS failed'); return; }
    if ((st === 'disconnected' || st === 'failed') && p.everUp && !p.restartTimer) {
      p.up = false;
      this._checkLink();
      this._restartStep(p, false);
      p.restartTimer = setInterval(() => { if (p.pc.connectionState !== 'connected') this._restartStep(p, false); }, RESTART_TICK);
      p.downTimer = setTimeout(() => this._peerDown(r, p), DOWN_AFTER);
    }
  }

  // One ICE restart step: the first offerer (re)offers, the other asks.
  async _restartStep(p, requested) {
    if (p.ended) return;
    if (!p.offerer) { this._send(p.userID, { kind: 'restart' }); return; }
    const since = now() - p.lastOfferAt;
    try {
      if (p.pc.signalingState === 'have-local-offer') {
        if (since < 1000 && !(requested && since >= 300)) return;
        p.lastOfferAt = now();
        this._send(p.userID, { kind: 'offer', sdp: p.pc.localDescription.sdp });
        return;
      }
      if (p.pc.signalingState !== 'stable') return;
      if (since < 3000) return;
      await this._offer(p, true);
    } catch (e) { warn('ICE restart', e.message); }
  }

  // The signaling link may be dead too (network change): probe it.
  _checkLink() {
    if (!this._wsReady || this._probing) return;
    const ws = this._ws;
    this._probing = true;
    this._request('ping', undefined, { timeout: 500 }).catch(() => {
      if (this._ws === ws && ws) { try { ws.close(4000, 'no answer to ping'); } catch (_) { /* */ } }
    }).finally(() => { this._probing = false; });
  }

  _peerDown(r, p) {
    if (this._room !== r || p.ended) return;
    const m = r.members.get(p.userID);
    if (!m || !m.entered) return;
    m.entered = false; m.leaveSent = true;
    this._emit(EVENT.USER_LEAVE, { userID: p.userID, reason: 'media_lost' });
    if (r.isGroup) return;
    for (const o of r.members.values()) if (o.entered) return;
    this._hangupLater('');
  }

  _peerFailed(r, p, why) {
    if (this._room !== r || p.ended) return;
    const m = r.members.get(p.userID);
    if (!m || m.entered || m.failed) return;
    m.failed = true;
    this._error(ERROR_CODE.MEDIA_FAILED, `media with ${p.userID} never connected: ${why}`);
    r.mediaFailed = true;
    for (const o of r.members.values()) if (!o.failed) return;
    this._hangupLater('media_failed');
  }

  // USER_VOICE_VOLUME once a second: the RMS level over the last second
  // (totalAudioEnergy / totalSamplesDuration deltas, as the Go engine's
  // meter measures its window), dBFS -60..0 mapped to 0..100.
  async _volumeTick(r) {
    const md = r.media;
    if (!md || md.closed || this._room !== r || md.peers.size === 0 || md.volBusy) return;
    md.volBusy = true;
    try {
      const map = {};
      let local = null;
      const level = (s, prev) => {
        if (typeof s.totalAudioEnergy === 'number' && typeof s.totalSamplesDuration === 'number') {
          const de = s.totalAudioEnergy - (prev ? prev.e : 0);
          const dd = s.totalSamplesDuration - (prev ? prev.d : 0);
          const v = prev && dd > 0 && de >= 0 ? volumeFromLevel(Math.sqrt(de / dd)) : null;
          return [v, { e: s.totalAudioEnergy, d: s.totalSamplesDuration }];
        }
        return [typeof s.audioLevel === 'number' ? volumeFromLevel(s.audioLevel) : null, null];
      };
      for (const p of [...md.peers.values()]) {
        let v = 0;
        try {
          const stats = await p.pc.getStats();
          stats.forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'audio') {
              const [lv, st] = level(s, p.volPrev); p.volPrev = st; if (lv !== null) v = lv;
            } else if (s.type === 'media-source' && s.kind === 'audio' && local === null) {
              const [lv, st] = level(s, p.localPrev); p.localPrev = st; local = lv;
            }
          });
        } catch (_) { /* closed meanwhile */ }
        map[p.userID] = v;
      }
      if (md.closed || this._room !== r) return;
      map[this._userID] = this._micMuted || local === null ? 0 : local;
      this._emit(EVENT.USER_VOICE_VOLUME, { volumeMap: map });
    } finally { md.volBusy = false; }
  }

  // ------------------------------------------------------------ views

  _viewElement(id) {
    const el = typeof document !== 'undefined' && document.getElementById(id);
    if (!el) throw err(ERROR_CODE.BAD_REQUEST, `no element with id ${JSON.stringify(id)}`);
    return el;
  }

  _videoIn(el, key) {
    for (const v of el.querySelectorAll('video')) if (v.dataset.trtcView === key) return v;
    const v = document.createElement('video');
    v.autoplay = true; v.playsInline = true; v.muted = true;
    v.setAttribute('autoplay', ''); v.setAttribute('playsinline', ''); v.setAttribute('muted', '');
    v.dataset.trtcView = key;
    v.style.width = '100%'; v.style.height = '100%'; v.style.objectFit = 'cover';
    el.appendChild(v);
    return v;
  }

  _setVideo(v, track) {
    const cur = v.srcObject && v.srcObject.getVideoTracks()[0];
    if (cur === track) return;
    v.srcObject = track ? new MediaStream([track]) : null;
    if (track) { const pr = v.play(); if (pr && pr.catch) pr.catch(() => {}); }
  }

  /**
   * Plays userID's video in a <video> created inside the element with id
   * videoViewDomID. The user must be in the current call.
   */
  async startRemoteView({ userID, videoViewDomID } = {}) {
    if (!userID || !videoViewDomID) throw err(ERROR_CODE.BAD_REQUEST, 'empty userID or videoViewDomID');
    const r = this._room;
    if (!r || !r.members.has(userID)) throw err(ERROR_CODE.WRONG_STATE, `${userID} is not in a call with us`);
    this._viewElement(videoViewDomID);
    if (!this._remoteViews.has(userID)) this._remoteViews.set(userID, new Set());
    this._remoteViews.get(userID).add(videoViewDomID);
    this._refreshRemoteViews(userID);
  }

  /** Removes the <video> of userID from the element videoViewDomID. */
  async stopRemoteView({ userID, videoViewDomID } = {}) {
    if (!userID || !videoViewDomID) throw err(ERROR_CODE.BAD_REQUEST, 'empty userID or videoViewDomID');
    const set = this._remoteViews.get(userID);
    if (!set || !set.has(videoViewDomID)) return;
    set.delete(videoViewDomID);
    if (!set.size) this._remoteViews.delete(userID);
    this._removeVideo(videoViewDomID, 'remote:' + userID);
  }

  _removeVideo(domID, key) {
    const el = typeof document !== 'undefined' && document.getElementById(domID);
    if (!el) return;
    for (const v of el.querySelectorAll('video')) {
      if (v.dataset.trtcView === key) { v.srcObject = null; v.remove(); }
    }
  }

  _dropRemoteViews(userID) {
    const set = this._remoteViews.get(userID);
    if (!set) return;
    this._remoteViews.delete(userID);
    for (const id of set) this._removeVideo(id, 'remote:' + userID);
  }

  _refreshRemoteViews(userID) {
    const set = this._remoteViews.get(userID);
    if (!set) return;
    const md = this._room && this._room.media;
    const p = md && md.peers.get(userID);
    const track = p && p.videoTrack;
    for (const id of set) {
      const el = typeof document !== 'undefined' && document.getElementById(id);
      if (!el) continue;
      this._setVideo(this._videoIn(el, 'remote:' + userID), track || null);
    }
  }

  /** Shows the local camera in a <video> inside videoViewDomID (in or out of calls). */
  async startLocalView({ userID, videoViewDomID } = {}) {
    void userID;
    if (!videoViewDomID) throw err(ERROR_CODE.BAD_REQUEST, 'empty videoViewDomID');
    this._viewElement(videoViewDomID);
    this._localViews.add(videoViewDomID);
    this._gumFailed.video = false;
    await this._acquireLocal(true);
    if (this._local.video) this._local.video.enabled = true;
    this._refreshLocalViews();
  }

  /** Removes the local preview from videoViewDomID. */
  async stopLocalView({ userID, videoViewDomID } = {}) {
    void userID;
    if (!videoViewDomID) throw err(ERROR_CODE.BAD_REQUEST, 'empty videoViewDomID');
    if (!this._localViews.delete(videoViewDomID)) return;
    this._removeVideo(videoViewDomID, 'local');
    if (this._localViews.size === 0 && !(this._room && this._camOn)) this._stopTrack('video');
  }

  _refreshLocalViews() {
    for (const id of this._localViews) {
      const el = typeof document !== 'undefined' && document.getElementById(id);
      if (!el) continue;
      this._setVideo(this._videoIn(el, 'local'), this._local.video);
    }
  }

  // ------------------------------------------------------------ devices

  /**
   * Sets the video sending profile: '120p' .. '1080p', or
   * {width, height, frameRate, bitrate (kbit/s)}.
   */
  async setVideoQuality(profile) {
    let q = null;
    if (typeof profile === 'string') q = VIDEO_PROFILES[profile.trim().toLowerCase()];
    else if (isObj(profile) && profile.width > 0 && profile.height > 0) {
      q = { width: +profile.width, height: +profile.height, frameRate: +profile.frameRate || 15, bitrate: +profile.bitrate || 800 };
    }
    if (!q) throw err(ERROR_CODE.BAD_REQUEST, `video quality ${JSON.stringify(profile)}, want one of ${Object.keys(VIDEO_PROFILES).join(', ')}`);
    this._quality = q;
    const t = this._local.video;
    if (t && t.applyConstraints) {
      await t.applyConstraints({ width: { ideal: q.width }, height: { ideal: q.height }, frameRate: { ideal: q.frameRate } })
        .catch((e) => warn('applyConstraints', e.message));
    }
    const md = this._room && this._room.media;
    if (md) for (const p of md.peers.values()) this._applyBitrate(p);
  }

  async _listDevices(kind) {
    const md = typeof navigator !== 'undefined' && navigator.mediaDevices;
    if (!md || !md.enumerateDevices) throw err(ERROR_CODE.NO_WEBRTC, 'enumerateDevices is not available');
    const list = await md.enumerateDevices();
    return list.filter((d) => d.kind === kind).map((d) => ({ deviceId: d.deviceId, label: d.label, groupId: d.groupId, kind: d.kind }));
  }

  /** Lists the cameras. */
  getCameras() { return this._listDevices('videoinput'); }

  /** Lists the microphones. */
  getMicrophones() { return this._listDevices('audioinput'); }

  /** Lists the speakers (audio outputs). */
  getSpeakers() { return this._listDevices('audiooutput'); }

  /**
   * Uses another device from now on; in a call the connections carry the
   * new track on the same RTP stream (replaceTrack).
   * @param {{deviceType: 'video'|'audio'|'speaker', deviceId: string}} params
   */
  async switchDevice({ deviceType, deviceId } = {}) {
    const kind = { video: 'video', camera: 'video', audio: 'audio', microphone: 'audio', mic: 'audio', speaker: 'speaker' }[deviceType];
    if (!kind || !deviceId) throw err(ERROR_CODE.BAD_REQUEST, `switchDevice: deviceType ${JSON.stringify(deviceType)}, deviceId ${JSON.stringify(deviceId)}`);
    if (kind === 'speaker') {
      this._devices.speaker = deviceId;
      const md = this._room && this._room.media;
      if (md) {
        for (const p of md.peers.values()) {
          if (p.audioEl && p.audioEl.setSinkId) await p.audioEl.setSinkId(deviceId);
        }
      }
      return;
    }
    const prev = this._devices[kind];
    this._devices[kind] = deviceId;
    const needed = kind === 'audio' ? (!!this._room || !!this._local.audio) : (!!this._local.video || (this._room && this._camOn));
    if (!needed) return;
    const mdv = navigator.mediaDevices;
    let s;
    try {
      s = await mdv.getUserMedia({ [kind]: kind === 'audio' ? this._audioConstraints() : this._videoConstraints() });
    } catch (e) {
      this._devices[kind] = prev;
      this._mediaError(e, kind);
      throw err(kind === 'audio' ? ERROR_CODE.NO_MICROPHONE : ERROR_CODE.NO_CAMERA, `switchDevice: ${e.name}: ${e.message}`);
    }
    const track = s.getTracks()[0];
    this._setLocalTrack(kind, track);
    if (kind === 'video') track.enabled = this._camOn || this._localViews.size > 0;
    const md = this._room && this._room.media;
    if (!md) return;
    for (const p of md.peers.values()) {
      const tr = kind === 'audio' ? p.audio : p.video;
      if (!tr) continue;
      const send = kind === 'audio' ? track : (this._camOn ? track : null);
      await tr.sender.replaceTrack(send).catch((e) => warn('replaceTrack', e.message));
    }
  }

  // ------------------------------------------------------------ misc

  /** termcall: the call state, 'idle' | 'dialing' | 'ringing' | 'connected'. */
  getState() { return this._state(); }

  /** termcall: the logged-in userID ('' when logged out). */
  getUserID() { return this._loggedIn ? this._userID : ''; }

  /** termcall: the current call's RTCPeerConnection with userID (for diagnostics). */
  getPeerConnection(userID) {
    const md = this._room && this._room.media;
    const p = md && md.peers.get(userID);
    return p ? p.pc : null;
  }

  /** termcall: sets how others see you (nickName, avatar); kept for resumed sessions. */
  async setSelfInfo({ nickName, avatar } = {}) {
    const body = {};
    if (nickName) body.nickName = String(nickName);
    if (avatar) body.avatar = String(avatar);
    await this._call('setSelfInfo', body);
    this._self = body;
  }

  /**
   * termcall: follows these users' presence (replaces the previous list).
   * Resolves with their current [{userID, status, nickName?, avatar?}];
   * changes come as PRESENCE events.
   * @param {string[]} userIDList
   */
  async watchPresence(userIDList) {
    const users = Array.isArray(userIDList) ? userIDList.slice() : [];
    if (users.length > 256 || users.some((u) => !USERID_RE.test(u || ''))) throw err(ERROR_CODE.BAD_REQUEST, 'watchPresence: at most 256 valid userIDs');
    const rep = await this._call('watch', { users });
    this._watching = users;
    return (Array.isArray(rep.presence) ? rep.presence : []).map(presenceOf);
  }
}

TRTCCalling.EVENT = EVENT;
TRTCCalling.CALL_TYPE = CALL_TYPE;
TRTCCalling.ERROR_CODE = ERROR_CODE;
TRTCCalling.VIDEO_PROFILES = VIDEO_PROFILES;
TRTCCalling.TRTCCallingError = TRTCCallingError;

export { TRTCCalling, TRTCCallingError, EVENT, CALL_TYPE, ERROR_CODE };
export default TRTCCalling;
