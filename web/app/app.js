// termcall web softphone. Built only on the public TRTCCalling API of
// /sdk/trtc-calling.js; no framework, no build step.
import TRTCCalling from '/sdk/trtc-calling.js';

const EV = TRTCCalling.EVENT || {};
const AUDIO = 1;
const VIDEO = 2;
const RING_TIMEOUT = 30; // seconds, as TRTCCalling 1.x
const LOCAL_VIEW = 'local-video';
const KEY = {
  sdkAppID: 'termcall.sdkAppID',
  userID: 'termcall.userID',
  contacts: 'termcall.contacts',
};

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('aria-') || k === 'role') e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...kids);
  return e;
};

// ---- storage (never the userSig) -------------------------------------

const store = {
  get(k) { try { return localStorage.getItem(k); } catch { return null; } },
  set(k, v) { try { localStorage.setItem(k, v); } catch { /* private mode */ } },
};

function loadContacts() {
  try {
    const v = JSON.parse(store.get(KEY.contacts) || '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string' && x) : [];
  } catch { return []; }
}
function saveContacts() { store.set(KEY.contacts, JSON.stringify(contacts)); }

// ---- state --------------------------------------------------------------

let sdk = null;           // TRTCCalling instance
let sdkAppID = 0;         // the instance's SDKAppID
let me = '';              // logged-in userID ('' when logged out)
let loggingIn = false;
let contacts = loadContacts();
const presence = new Map(); // userID -> 'online' | 'busy' | 'offline'
let presenceSupported = false;

let invite = null;        // the ringing incoming invitation (INVITED payload)
let call = null;          // the current call, see newCall()
const remotes = new Map();  // userID -> {audio, video, tile}
let localViewOn = false;
let micMuted = false;
let cameraOff = false;
let timerID = 0;
const history = [];

function newCall(o) {
  return {
    dir: o.dir,                    // 'out' | 'in'
    type: o.type,                  // AUDIO | VIDEO
    peers: o.peers,                // who the call is with (for the title)
    isGroup: !!o.isGroup,
    groupID: o.groupID || '',
    inviteID: o.inviteID || '',
    roomID: o.roomID,
    pending: new Set(o.dir === 'out' ? o.peers : []), // invitees still ringing
    accepted: new Set(),           // invitees who answered
    state: o.dir === 'out' ? 'ringing' : 'connecting', // → 'connected'
    startedAt: 0,
    placed: o.dir !== 'out', // call()/groupCall() resolved
    hangingUp: false,        // we asked to leave: CALL_END is ours
  };
}

// ---- small helpers ------------------------------------------------------

const errText = (e) => {
  if (e == null) return 'unknown error';
  if (typeof e === 'string') return e;
  const m = e.message || e.msg || e.error || '';
  const c = e.code != null ? ` (code ${e.code})` : '';
  return (m ? String(m) : String(e)) + c;
};
const typeName = (t) => (Number(t) === VIDEO ? 'video' : 'audio');
const list = (a) => {
  const v = [...a];
  if (v.length <= 1) return v.join('');
  return `${v.slice(0, -1).join(', ')} and ${v[v.length - 1]}`;
};
const pad = (n) => String(n).padStart(2, '0');
const duration = (s) => {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600);
  return (h ? `${h}:` : '') + `${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
};
// A DOM id fragment for a userID (userIDs are letters, digits, - and _;
// anything else is escaped so ids stay unique and valid).
const idPart = (u) => String(u).replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.codePointAt(0).toString(16)}_`);
const validUserID = (u) => /^[A-Za-z0-9_-]{1,32}$/.test(u || '');
const USERID_RULE = '1 to 32 letters, digits, - or _';
const parseUsers = (s) => [...new Set(String(s).split(/[,\s]+/).map((x) => x.trim()).filter(Boolean))];

function setStatus(text) { $('status').textContent = text; }
function showError(text) {
  const e = $('error');
  e.textContent = text;
  e.hidden = !text;
}
function clearError() { showError(''); }

function addHistory(text) {
  const t = new Date();
  history.unshift({ t, text });
  if (history.length > 20) history.pop();
  const ol = $('history');
  ol.prepend(el('li', {},
    el('time', { dateTime: t.toISOString(), text: `${pad(t.getHours())}:${pad(t.getMinutes())}` }),
    ' ', el('span', { text })));
  while (ol.children.length > 20) ol.lastElementChild.remove();
}

// Run an SDK call, showing its failure; returns [ok, result].
async function attempt(what, fn) {
  try {
    return [true, await fn()];
  } catch (e) {
    console.warn(what, e);
    showError(`${what} failed: ${errText(e)}`);
    return [false, e];
  }
}

// ---- ringing (Web Audio tone; no media files) -----------------------------

let audioCtx = null;
let ringID = 0;
function unlockAudio() {
  try {
    if (!audioCtx) audioCtx = new (window.AudioContext || window.webkitAudioContext)();
    if (audioCtx.state === 'suspended') audioCtx.resume();
  } catch { audioCtx = null; }
}
function beep() {
  if (!audioCtx || audioCtx.state !== 'running') return;
  const t = audioCtx.currentTime;
  const g = audioCtx.createGain();
  g.gain.setValueAtTime(0, t);
  g.gain.linearRampToValueAtTime(0.15, t + 0.02);
  g.gain.setValueAtTime(0.15, t + 0.9);
  g.gain.linearRampToValueAtTime(0, t + 1);
  g.connect(audioCtx.destination);
  for (const f of [440, 480]) {
    const o = audioCtx.createOscillator();
    o.frequency.value = f;
    o.connect(g);
    o.start(t);
    o.stop(t + 1.05);
  }
}
function startRinging() {
  stopRinging();
  beep();
  ringID = setInterval(beep, 3000);
  document.body.classList.add('ringing');
}
function stopRinging() {
  clearInterval(ringID);
  ringID = 0;
  document.body.classList.remove('ringing');
}

// ---- rendering ------------------------------------------------------------

function render() {
  const loggedIn = !!me;
  const busy = !!(call || invite);
  for (const id of ['login-sdkappid', 'login-user', 'login-sig']) $(id).disabled = loggedIn || loggingIn;
  $('login-btn').disabled = loggedIn || loggingIn;
  $('logout-btn').disabled = !loggedIn;
  $('me').textContent = loggedIn ? `Logged in as ${me}` : 'Not logged in';
  document.body.classList.toggle('logged-in', loggedIn);

  const canDial = loggedIn && !busy;
  for (const id of ['call-audio', 'call-video', 'group-audio', 'group-video']) $(id).disabled = !canDial;
  for (const b of document.querySelectorAll('#contacts button.dial')) b.disabled = !canDial;

  $('incoming').hidden = !invite;
  $('call').hidden = !call;
  document.body.classList.toggle('in-call', !!call);
  if (call) renderCall();
}

function renderCall() {
  const c = call;
  const video = c.type === VIDEO;
  $('call').classList.toggle('video', video);
  $('call').classList.toggle('audio', !video);
  $('call-peer').textContent = list(c.peers) || 'nobody';
  $('call-kind').textContent = `${c.isGroup ? 'Group ' : ''}${typeName(c.type)} call`;
  $('call-state').textContent = {
    ringing: `Calling ${list(c.pending.size ? c.pending : c.peers)}…`,
    connecting: 'Connecting…',
    connected: 'Connected',
  }[c.state] + ' ·';
  const pend = c.state === 'connected' && c.pending.size ? `Still ringing: ${list(c.pending)}` : '';
  $('call-pending').textContent = pend;
  $('call-pending').hidden = !pend;

  $('mute').textContent = micMuted ? 'Unmute mic' : 'Mute mic';
  $('camera').textContent = cameraOff ? 'Turn camera on' : 'Turn camera off';
  $('camera').disabled = !video;
  $('to-audio').disabled = c.isGroup || !video;
  $('to-video').disabled = c.isGroup || video;
  const ls = [micMuted ? 'mic muted' : '', video && cameraOff ? 'camera off' : ''].filter(Boolean).join(', ');
  $('local-state').textContent = ls ? `(${ls})` : '';
  $('remote-videos').classList.toggle('empty', remotes.size === 0);
}

function renderContacts() {
  const ul = $('contacts');
  ul.replaceChildren();
  $('contacts-empty').hidden = contacts.length > 0;
  const canDial = !!me && !call && !invite;
  for (const u of contacts) {
    const p = id => `contact-${id}-${idPart(u)}`;
    const st = presence.get(u);
    const pres = presenceSupported
      ? el('span', { id: `presence-${idPart(u)}`, class: `presence ${st || 'unknown'}`, text: st || (me ? 'unknown' : '') })
      : '';
    ul.append(el('li', { class: 'contact' },
      el('span', { class: 'name', text: u }), ' ', pres,
      el('span', { class: 'buttons' },
        el('button', { type: 'button', id: p('audio'), class: 'dial', disabled: !canDial, text: 'Audio', 'aria-label': `Audio call ${u}`, onclick: () => dial(u, AUDIO) }),
        el('button', { type: 'button', id: p('video'), class: 'dial', disabled: !canDial, text: 'Video', 'aria-label': `Video call ${u}`, onclick: () => dial(u, VIDEO) }),
        el('button', { type: 'button', id: p('remove'), class: 'remove', text: 'Remove', 'aria-label': `Remove ${u}`, onclick: () => removeContact(u) }))));
  }
  $('presence-note').textContent = presenceSupported
    ? (me ? 'Presence: online, busy (in a call) or offline.' : 'Log in to see presence.')
    : 'Presence (online / busy / offline) is not shown: the SDK offers no presence API.';
}

// ---- contacts and presence -------------------------------------------------

function addContact(u) {
  if (!validUserID(u)) { showError(`A contact needs a user ID: ${USERID_RULE}.`); return false; }
  if (!contacts.includes(u)) {
    contacts.push(u);
    saveContacts();
    watchPresence();
  }
  renderContacts();
  return true;
}
function removeContact(u) {
  contacts = contacts.filter((x) => x !== u);
  presence.delete(u);
  saveContacts();
  renderContacts();
  watchPresence();
  $('contact-add-user').focus();
}

function applyPresence(p) {
  if (!p) return;
  const items = Array.isArray(p) ? p : Array.isArray(p.presence) ? p.presence : [p];
  for (const x of items) {
    const u = x && (x.userID || x.userId);
    if (u) presence.set(u, String(x.status || x.state || 'unknown'));
  }
  renderContacts();
}

// Presence is a termcall extension; use it only if the SDK offers it.
async function watchPresence() {
  if (!sdk || !me || !presenceSupported) return;
  try {
    applyPresence(await sdk.watchPresence(contacts.slice()));
  } catch (e) {
    console.warn('watchPresence', e);
  }
}

// ---- login / logout --------------------------------------------------------

function handlers() {
  // Built once per instance; the SDK's aliases (CALL_END = CALLING_END)
  // share an event string, so each string is subscribed once.
  return {
    SDK_READY: onReady,
    INVITED: onInvited,
    USER_ACCEPT: onUserAccept,
    USER_ENTER: onUserEnter,
    USER_LEAVE: onUserLeave,
    REJECT: onReject,
    LINE_BUSY: onLineBusy,
    NO_RESP: onNoResp,
    CALLING_TIMEOUT: onCallingTimeout,
    CALLING_CANCEL: onCallingCancel,
    CALL_END: onCallEnd,
    CALLING_END: onCallEnd,
    KICKED_OUT: onKickedOut,
    ERROR: onError,
    USER_VIDEO_AVAILABLE: onVideoAvailable,
    USER_AUDIO_AVAILABLE: onAudioAvailable,
    USER_VOICE_VOLUME: onVoiceVolume,
    GROUP_CALL_INVITEE_LIST_UPDATE: onInviteeList,
    // termcall extensions, used only when the SDK defines them
    CALL_TYPE_CHANGED: onCallTypeChanged,
    PRESENCE: applyPresence,
    DEVICE_UPDATED: () => { if (call) fillDevices(); },
    MIC_SILENT: onMicSilent,
  };
}

let subscribed = [];
function subscribe(inst) {
  const seen = new Set();
  for (const [name, fn] of Object.entries(handlers())) {
    const ev = EV[name];
    if (!ev || seen.has(ev)) continue;
    seen.add(ev);
    const wrapped = (p) => {
      try { fn(p || {}); } catch (e) { console.error(name, e); }
    };
    inst.on(ev, wrapped);
    subscribed.push([ev, wrapped]);
  }
}
function unsubscribe(inst) {
  for (const [ev, fn] of subscribed) {
    try { inst.off(ev, fn); } catch { /* ignore */ }
  }
  subscribed = [];
}

async function login(ev) {
  ev.preventDefault();
  clearError();
  unlockAudio();
  const idText = $('login-sdkappid').value.trim();
  const userID = $('login-user').value.trim();
  const userSig = $('login-sig').value;
  const id = Number(idText);
  if (!/^[0-9]+$/.test(idText) || !Number.isSafeInteger(id) || id <= 0) {
    showError('SDKAppID must be a positive number.');
    $('login-sdkappid').focus();
    return;
  }
  if (!validUserID(userID)) { showError(`Enter a user ID: ${USERID_RULE}.`); $('login-user').focus(); return; }
  if (!userSig) { showError('Enter the UserSig.'); $('login-sig').focus(); return; }
  store.set(KEY.sdkAppID, String(id));
  store.set(KEY.userID, userID);

  try {
    if (!sdk || sdkAppID !== id) {
      if (sdk) unsubscribe(sdk);
      sdk = new TRTCCalling({ SDKAppID: id });
      sdkAppID = id;
      presenceSupported = typeof sdk.watchPresence === 'function';
      subscribe(sdk);
    }
  } catch (e) {
    showError(`Could not start the SDK: ${errText(e)}`);
    return;
  }

  loggingIn = true;
  setStatus(`Logging in as ${userID}…`);
  render();
  try {
    await sdk.login({ userID, userSig });
    me = userID;
    $('login-sig').value = '';
    setStatus(`Logged in as ${userID}.`);
    addHistory(`Logged in as ${userID}`);
    watchPresence();
  } catch (e) {
    setStatus('Not logged in.');
    showError(`Login failed: ${errText(e)}`);
  } finally {
    loggingIn = false;
    render();
    renderContacts();
    if (me) $('dial-user').focus();
    else $('login-sig').focus();
  }
}

async function logout() {
  clearError();
  const wasCall = !!call;
  if (invite) {
    // The SDK sends nothing on logout: reject so the caller stops ringing.
    const i = invite;
    await attempt('Reject', () => sdk.reject({ inviteID: i.inviteID, isBusy: false, callType: inviteType(i) }));
  }
  // logout() leaves the call itself (the others see "logged out").
  if (call) call.hangingUp = true;
  await attempt('Log out', () => sdk.logout());
  loggedOut(wasCall ? 'Call ended: you logged out.' : '');
  setStatus('Logged out.');
}

function loggedOut(why) {
  if (call) endCall(why || 'Call ended: logged out.');
  if (invite) dismissInvite('');
  if (me) addHistory(`Logged out ${me}`);
  me = '';
  presence.clear();
  render();
  renderContacts();
  $('login-sig').focus();
}

// ---- dialling --------------------------------------------------------------

function canDial() {
  clearError();
  if (!me) { showError('Log in first.'); return false; }
  if (call || invite) { showError('Finish the current call first.'); return false; }
  return true;
}

async function dial(userID, type) {
  if (!canDial()) return;
  unlockAudio();
  if (!validUserID(userID)) { showError(`Enter a user ID to call: ${USERID_RULE}.`); $('dial-user').focus(); return; }
  if (userID === me) { showError('You cannot call yourself.'); return; }
  const c = call = newCall({ dir: 'out', type, peers: [userID] });
  resetMedia();
  setStatus(`Calling ${userID} (${typeName(type)})…`);
  render();
  $('hangup').focus();
  const [ok, res] = await attempt(`Calling ${userID}`, () => sdk.call({ userID, type, timeout: RING_TIMEOUT }));
  c.placed = true;
  if (ok && c.hangingUp) { leaveLater(); return; }
  if (call !== c) return;
  if (!ok) { endCall(`Call to ${userID} failed.`, true); return; }
  if (res && typeof res === 'object') {
    c.inviteID = res.inviteID || c.inviteID;
    c.roomID = res.roomID ?? c.roomID;
  }
  if (c.type === VIDEO) startLocal();
  fillDevices();
}

async function groupDial(type) {
  if (!canDial()) return;
  unlockAudio();
  const users = parseUsers($('group-users').value).filter((u) => u !== me);
  const groupID = $('group-id').value.trim();
  if (!users.length) { showError('Enter at least one user ID for the group call.'); $('group-users').focus(); return; }
  const bad = users.filter((u) => !validUserID(u));
  if (bad.length) { showError(`Not a user ID: ${bad.join(', ')} (${USERID_RULE}).`); $('group-users').focus(); return; }
  const c = call = newCall({ dir: 'out', type, peers: users, isGroup: true, groupID });
  resetMedia();
  setStatus(`Group ${typeName(type)} call to ${list(users)}…`);
  render();
  $('hangup').focus();
  const params = { userIDList: users, type };
  if (groupID) params.groupID = groupID;
  const [ok, res] = await attempt('Group call', () => sdk.groupCall(params));
  c.placed = true;
  if (ok && c.hangingUp) { leaveLater(); return; }
  if (call !== c) return;
  if (!ok || (res && typeof res === 'object' && res.code && res.code !== 0)) {
    endCall('Group call failed.', true);
    return;
  }
  if (res && typeof res === 'object') {
    c.inviteID = res.inviteID || c.inviteID;
    c.roomID = res.roomID ?? c.roomID;
  }
  if (c.type === VIDEO) startLocal();
  fillDevices();
}

// ---- incoming --------------------------------------------------------------

const inviteType = (i) => Number((i.inviteData && i.inviteData.callType) ?? i.callType ?? AUDIO) === VIDEO ? VIDEO : AUDIO;

function onInvited(p) {
  const data = p.inviteData || {};
  if (data.callEnd > 0) return; // a call-end notice, not an invitation
  if (invite || call) return;   // the SDK answers busy by itself
  invite = p;
  const from = p.sponsorNickName ? `${p.sponsorNickName} (${p.sponsor})` : (p.sponsor || 'Someone');
  const others = (p.userIDList || []).filter((u) => u !== me && u !== p.sponsor);
  $('incoming-from').textContent = from;
  $('incoming-type').textContent = `${p.isFromGroup || others.length ? 'group ' : ''}${typeName(inviteType(p))} call`;
  $('incoming-group').textContent = others.length ? `, with ${list(others)}` : (p.groupID ? ` in group ${p.groupID}` : '');
  setStatus(`Incoming ${typeName(inviteType(p))} call from ${from}.`);
  startRinging();
  render();
  $('accept').focus();
}

function dismissInvite(text) {
  stopRinging();
  const i = invite;
  invite = null;
  if (text) { setStatus(text); addHistory(text); }
  render();
  if (i && document.activeElement && document.activeElement.closest('#incoming')) $('dial-user').focus();
}

async function acceptInvite() {
  if (!invite) return;
  unlockAudio();
  const i = invite;
  const type = inviteType(i);
  const peers = [i.sponsor, ...(i.userIDList || [])].filter((u, k, a) => u && u !== me && a.indexOf(u) === k);
  stopRinging();
  invite = null;
  const c = call = newCall({
    dir: 'in', type, peers, isGroup: !!i.isFromGroup || peers.length > 1,
    groupID: i.groupID, inviteID: i.inviteID, roomID: i.inviteData && i.inviteData.roomID,
  });
  resetMedia();
  setStatus(`Answering ${i.sponsor}…`);
  render();
  $('hangup').focus();
  const [ok] = await attempt('Accept', () => sdk.accept({
    inviteID: i.inviteID,
    roomID: i.inviteData && i.inviteData.roomID,
    callType: type,
  }));
  if (call !== c) return;
  if (!ok) { endCall(`Could not answer ${i.sponsor}.`, true); return; }
  if (c.type === VIDEO) startLocal();
  fillDevices();
}

async function rejectInvite() {
  if (!invite) return;
  const i = invite;
  dismissInvite(`Rejected the call from ${i.sponsor}.`);
  await attempt('Reject', () => sdk.reject({ inviteID: i.inviteID, isBusy: false, callType: inviteType(i) }));
}

// ---- in call ---------------------------------------------------------------

function resetMedia() {
  // Every call starts with the microphone on (the SDK keeps the setting
  // between calls).
  if (micMuted) {
    try { Promise.resolve(sdk.setMicMute(false)).catch((e) => console.warn('unmute', e)); } catch (e) { console.warn('unmute', e); }
  }
  micMuted = false;
  cameraOff = false;
  localViewOn = false;
  for (const u of [...remotes.keys()]) dropRemote(u, false);
  $('remote-videos').replaceChildren();
  $('local-video').replaceChildren();
  $('call-timer').textContent = '00:00';
}

function connected() {
  if (!call || call.state === 'connected') return;
  call.state = 'connected';
  call.startedAt = Date.now();
  clearInterval(timerID);
  timerID = setInterval(tick, 1000);
  tick();
  setStatus(`Connected with ${list(remotes.size ? remotes.keys() : call.peers)}.`);
}
function tick() {
  if (call && call.startedAt) $('call-timer').textContent = duration((Date.now() - call.startedAt) / 1000);
}

// End the call in the UI (the SDK has ended it, or is told elsewhere).
function endCall(text, isError) {
  const c = call;
  if (!c) return;
  clearInterval(timerID);
  timerID = 0;
  if (localViewOn) {
    localViewOn = false;
    try { Promise.resolve(sdk.stopLocalView({ userID: me, videoViewDomID: LOCAL_VIEW })).catch(() => {}); } catch { /* ignore */ }
  }
  for (const u of [...remotes.keys()]) dropRemote(u, true);
  call = null;
  let msg = text || 'Call ended.';
  if (c.startedAt && !/\(\d/.test(msg)) msg = msg.replace(/\.?$/, ` (${duration((Date.now() - c.startedAt) / 1000)}).`);
  setStatus(msg);
  if (isError) showError(msg);
  addHistory(msg);
  render();
  renderContacts();
  const f = document.activeElement;
  if (!f || f === document.body || f.closest('#call')) $('dial-user').focus();
}

const hangupText = (c) => (c.state === 'connected' ? 'You hung up.'
  : c.dir === 'out' ? `You cancelled the call to ${list(c.peers)}.` : 'You left the call.');

async function hangup() {
  if (!call || call.hangingUp) return;
  const c = call;
  c.hangingUp = true;
  if (!c.placed) {
    // The invitation is still being sent: leave as soon as it is.
    endCall(hangupText(c));
    return;
  }
  await attempt('Hang up', () => sdk.hangup());
  // The SDK emits CALL_END before hangup() resolves; end the call here in
  // any case (even if it failed, so the page is never stuck in a call).
  if (call === c) endCall(hangupText(c));
}

// Hang up a call whose invitation went out after the user hung up.
function leaveLater() {
  Promise.resolve().then(() => sdk.hangup()).catch((e) => console.warn('hangup', e));
}

async function startLocal() {
  if (!call || localViewOn || !me) return;
  localViewOn = true;
  const [ok] = await attempt('Local video', () => sdk.startLocalView({ userID: me, videoViewDomID: LOCAL_VIEW }));
  if (!ok) localViewOn = false;
}
async function stopLocal() {
  if (!localViewOn) return;
  localViewOn = false;
  await attempt('Stop local video', () => sdk.stopLocalView({ userID: me, videoViewDomID: LOCAL_VIEW }));
  $('local-video').replaceChildren();
}

function remoteTile(u) {
  let r = remotes.get(u);
  if (!r) {
    r = { audio: true, video: undefined, tile: null, viewing: false };
    remotes.set(u, r);
  }
  return r;
}

function addRemote(u) {
  const r = remoteTile(u);
  if (!r.tile) {
    const i = idPart(u);
    r.tile = el('figure', { id: `remote-${i}`, class: 'remote' },
      el('div', { id: `remote-view-${i}`, class: 'view' }),
      el('figcaption', {},
        el('span', { class: 'name', text: u }), ' ',
        el('span', { id: `remote-state-${i}`, class: 'state' })));
    $('remote-videos').append(r.tile);
  }
  renderRemote(u);
  if (!r.viewing) {
    r.viewing = true;
    attempt(`Video of ${u}`, () => sdk.startRemoteView({ userID: u, videoViewDomID: `remote-view-${idPart(u)}` }))
      .then(([ok]) => { if (!ok) r.viewing = false; });
  }
}

function dropRemote(u, stop) {
  const r = remotes.get(u);
  if (!r) return;
  remotes.delete(u);
  if (stop && r.viewing && sdk) {
    try {
      Promise.resolve(sdk.stopRemoteView({ userID: u, videoViewDomID: `remote-view-${idPart(u)}` })).catch(() => {});
    } catch { /* ignore */ }
  }
  if (r.tile) r.tile.remove();
}

function renderRemote(u) {
  const r = remotes.get(u);
  if (!r || !r.tile) return;
  const parts = [r.audio === false ? 'mic off' : 'mic on'];
  if (call && call.type === VIDEO) parts.push(r.video === false ? 'camera off' : 'camera on');
  r.tile.querySelector('.state').textContent = `(${parts.join(', ')})`;
  r.tile.classList.toggle('no-video', r.video === false || !call || call.type !== VIDEO);
  r.tile.classList.toggle('muted', r.audio === false);
}

async function toggleMute() {
  if (!call) return;
  const want = !micMuted;
  const [ok] = await attempt(want ? 'Mute' : 'Unmute', () => sdk.setMicMute(want));
  if (ok) {
    micMuted = want;
    setStatus(want ? 'Microphone muted.' : 'Microphone on.');
  }
  if (call) renderCall();
}

async function toggleCamera() {
  if (!call) return;
  if (cameraOff) {
    const [ok] = await attempt('Camera on', () => sdk.openCamera());
    if (ok) { cameraOff = false; setStatus('Camera on.'); startLocal(); }
  } else {
    const [ok] = await attempt('Camera off', () => sdk.closeCamera());
    if (ok) { cameraOff = true; setStatus('Camera off.'); }
  }
  if (call) renderCall();
}

function setCallType(type) {
  if (!call || call.type === type) return;
  call.type = type;
  // cameraOff stays: the SDK keeps a closed camera closed across a switch.
  if (type === VIDEO) startLocal();
  else stopLocal();
  for (const u of remotes.keys()) renderRemote(u);
  renderCall();
}

async function switchTo(type) {
  if (!call) return;
  const [ok] = await attempt(type === VIDEO ? 'Switch to video' : 'Switch to audio',
    () => (type === VIDEO ? sdk.switchToVideoCall() : sdk.switchToAudioCall()));
  if (ok && call) {
    setCallType(type);
    // Asking for video is asking to be seen: a camera turned off before comes on.
    if (type === VIDEO && cameraOff) await toggleCamera();
    if (call) setStatus(`Switched to ${typeName(type)}.`);
  }
}

// ---- devices ---------------------------------------------------------------

async function fillDevices() {
  if (!sdk || !me) return;
  const fill = async (sel, get, what) => {
    let items = [];
    try { items = (await get()) || []; } catch (e) { console.warn(what, e); }
    const cur = sel.value;
    sel.replaceChildren();
    items.forEach((d, k) => {
      const id = d.deviceId ?? d.id ?? '';
      sel.append(el('option', { value: id, text: d.label || d.name || `${what} ${k + 1}`, selected: id === cur }));
    });
    if (!items.length) sel.append(el('option', { value: '', text: `No ${what.toLowerCase()} found` }));
    sel.disabled = !items.length;
  };
  await Promise.all([
    fill($('camera-select'), () => sdk.getCameras(), 'Camera'),
    fill($('mic-select'), () => sdk.getMicrophones(), 'Microphone'),
  ]);
}

async function pickDevice(deviceType, sel) {
  const deviceId = sel.value;
  if (!deviceId) return;
  const [ok] = await attempt(deviceType === 'video' ? 'Switch camera' : 'Switch microphone',
    () => sdk.switchDevice({ deviceType, deviceId }));
  if (ok) setStatus(`${deviceType === 'video' ? 'Camera' : 'Microphone'}: ${sel.selectedOptions[0]?.textContent || deviceId}.`);
}

// ---- SDK events ------------------------------------------------------------

function onReady() {
  if (me) setStatus(`Ready: logged in as ${me}.`);
}

function onUserAccept(p) {
  if (!call) return;
  const u = p.userID;
  if (u && u !== me) {
    call.pending.delete(u);
    call.accepted.add(u);
    if (call.state === 'ringing') call.state = 'connecting';
    setStatus(`${u} answered.`);
  } else if (call.state === 'ringing') {
    call.state = 'connecting';
  }
  renderCall();
}

function onUserEnter(p) {
  const u = p.userID;
  if (!call || !u || u === me) return;
  call.pending.delete(u);
  if (!call.peers.includes(u)) call.peers.push(u);
  addRemote(u);
  const first = call.state !== 'connected';
  connected();
  if (!first) setStatus(`${u} joined.`);
  renderCall();
}

function onUserLeave(p) {
  const u = p.userID;
  if (!call || !u) return;
  dropRemote(u, true);
  const why = p.reason ? ` (${reasonText(p.reason, u)})` : '';
  setStatus(`${u} left${why}.`);
  if (call.isGroup) addHistory(`${u} left the call${why}`);
  renderCall();
}

function groupGone(u, what) {
  // A group invitee dropped out; the call ends only when nobody is left.
  call.pending.delete(u);
  if (!call.accepted.has(u) && !remotes.has(u) && call.peers.length > 1) call.peers = call.peers.filter((x) => x !== u);
  setStatus(`${u} ${what}.`);
  addHistory(`${u} ${what}`);
  // The server ends the call (CALL_END) when nobody is left; this is only
  // a fallback in case that does not come.
  if (!call.pending.size && !remotes.size && !call.accepted.size && call.state !== 'connected') {
    const c = call;
    setTimeout(() => {
      if (call === c && !c.pending.size && !remotes.size && !c.accepted.size) {
        endCall('Nobody answered the group call.');
        leaveLater();
      }
    }, 3000);
  }
  renderCall();
}

function onReject(p) {
  if (!call || call.dir !== 'out') return;
  const u = p.userID || list(call.peers);
  if (call.isGroup) groupGone(u, 'rejected the call');
  else endCall(`${u} rejected the call.`);
}

function onLineBusy(p) {
  const busyUser = p.userID;
  if (call && call.dir === 'out' && busyUser && busyUser !== me) {
    if (call.isGroup) groupGone(busyUser, 'is busy');
    else endCall(`${busyUser} is busy.`);
    return;
  }
  // We are the busy one: the SDK turned a caller away for us.
  if (p.sponsor && p.sponsor !== me) addHistory(`Missed a call from ${p.sponsor} (you were busy)`);
}

function onNoResp(p) {
  if (!call) return;
  const users = p.userIDList || (p.userID ? [p.userID] : [...call.pending]);
  if (call.isGroup && remotes.size) {
    for (const u of users) call.pending.delete(u);
    addHistory(`No answer from ${list(users)}`);
    renderCall();
    return;
  }
  endCall(`No answer from ${list(users.length ? users : call.peers)}.`);
}

function onCallingTimeout(p) {
  if (invite && (!p.inviteID || !invite.inviteID || p.inviteID === invite.inviteID)) {
    dismissInvite(`Missed call from ${invite.sponsor} (not answered in time).`);
    return;
  }
  if (!call) return;
  const users = (p.userIDList || []).filter((u) => u !== me);
  if (call.isGroup && remotes.size) {
    for (const u of users) call.pending.delete(u);
    renderCall();
    return;
  }
  if (call.state !== 'connected') endCall(`No answer from ${list(users.length ? users : call.peers)}.`);
}

function onCallingCancel(p) {
  if (invite && (!p.inviteID || !invite.inviteID || p.inviteID === invite.inviteID)) {
    const why = p.reason && p.reason !== 'cancelled' ? ` (${reasonText(p.reason, invite.sponsor)})` : '';
    dismissInvite(`Missed call: ${invite.sponsor} cancelled the call${why}.`);
    return;
  }
  if (call && call.dir === 'in' && p.inviteID && p.inviteID === call.inviteID && call.state !== 'connected') {
    endCall(`${p.sponsor || 'The caller'} cancelled the call.`);
  }
}

function onCallEnd(p) {
  if (invite && !call) {
    if (!p.userID || p.userID === invite.sponsor) dismissInvite(`Missed call from ${invite.sponsor}.`);
    return;
  }
  if (!call) return;
  const secs = typeof p.callEnd === 'number' && p.callEnd > 0 ? ` (${duration(p.callEnd)})` : '';
  if (call.hangingUp) {
    endCall(hangupText(call).replace(/\.$/, `${secs}.`));
    return;
  }
  const who = p.userID && p.userID !== me ? p.userID : '';
  let text = 'Call ended';
  if (p.reason && (who || p.reason !== 'hangup')) text += `: ${reasonText(p.reason, who || (p.userID === me ? 'you' : ''))}`;
  endCall(`${text}${secs}.`);
}

function onKickedOut(p) {
  const why = p.reason && p.reason !== 'multipleAccount' ? ` (${reasonText(p.reason)})` : '';
  const text = `You were logged out: this user ID logged in elsewhere${why}.`;
  if (call) endCall(text, true);
  if (sdk) Promise.resolve().then(() => sdk.logout()).catch(() => {});
  loggedOut(text);
  setStatus(text);
  showError(text);
}

const ERRORS = {
  60001: 'switching to audio failed',
  60002: 'switching to video failed',
  60003: 'no microphone found',
  60004: 'no camera found',
  60005: 'camera or microphone permission denied',
  60006: 'this browser does not support WebRTC',
};

function onError(p) {
  const code = p.code;
  let m = p.message || p.msg || '';
  if (m && typeof m === 'object') m = JSON.stringify(m);
  const known = ERRORS[code];
  const text = `Error${code != null ? ` ${code}` : ''}: ${known ? known + (m ? ` (${m})` : '') : (m || 'unknown error')}`;
  showError(text);
  setStatus(text);
}

function onVideoAvailable(p) {
  if (!call || !p.userID) return;
  remoteTile(p.userID).video = !!p.isVideoAvailable;
  renderRemote(p.userID);
}
function onAudioAvailable(p) {
  if (!call || !p.userID) return;
  remoteTile(p.userID).audio = !!p.isAudioAvailable;
  renderRemote(p.userID);
}
function onVoiceVolume(p) {
  let m = p.volumeMap || {};
  if (Array.isArray(m)) m = Object.fromEntries(m.map((x) => [x.userID ?? x.userId, x.volume ?? x.audioVolume]));
  for (const [u, r] of remotes) r.tile && r.tile.classList.toggle('speaking', (m[u] || 0) >= 20);
}
function onInviteeList(p) {
  if (!call || !Array.isArray(p.userIDList)) return;
  call.pending = new Set(p.userIDList.filter((u) => u !== me && !remotes.has(u)));
  renderCall();
}
function onCallTypeChanged(p) {
  const t = Number(p.newCallType);
  if (!call || (t !== AUDIO && t !== VIDEO) || t === call.type) return;
  setCallType(t);
  setStatus(`${p.userID && p.userID !== me ? p.userID : 'The call'} switched to ${typeName(t)}.`);
}
function onMicSilent(p) {
  if (!call) return;
  if (p.silent) setStatus('Your microphone delivers only silence: is it muted in the system settings?');
}

// Call end reasons (termcall's CALL_END / USER_LEAVE reason) in plain words.
function reasonText(r, who) {
  const w = who || 'the other side';
  switch (r) {
    case 'hangup': return `${w} hung up`;
    case 'logout': return `${w} logged out`;
    case 'kicked': return `${w} logged in elsewhere`;
    case 'disconnected': return `${w} lost the connection`;
    case 'rejected': return `${w} rejected the call`;
    case 'busy': return `${w} ${w === 'you' ? 'are' : 'is'} busy`;
    case 'no_answer': return 'no answer';
    case 'cancelled': return 'the call was cancelled';
    case 'call_ended': return 'the call ended before it was answered';
    case 'multipleAccount': return 'logged in elsewhere';
    case 'shutdown': return 'the server shut down';
    case 'media_failed': return 'the media connection could not be set up';
    case 'media_lost': return 'the media connection was lost';
    default: return String(r).replace(/_/g, ' ');
  }
}

// ---- wiring ----------------------------------------------------------------

function init() {
  $('login-sdkappid').value = store.get(KEY.sdkAppID) || '';
  $('login-user').value = store.get(KEY.userID) || '';

  $('login-form').addEventListener('submit', login);
  $('logout-btn').addEventListener('click', logout);

  $('contact-form').addEventListener('submit', (e) => {
    e.preventDefault();
    clearError();
    const i = $('contact-add-user');
    if (addContact(i.value.trim())) i.value = '';
    i.focus();
  });

  const dialTyped = (type) => dial($('dial-user').value.trim(), type);
  $('dial-form').addEventListener('submit', (e) => { e.preventDefault(); dialTyped(AUDIO); });
  $('call-video').addEventListener('click', () => dialTyped(VIDEO));
  $('group-form').addEventListener('submit', (e) => { e.preventDefault(); groupDial(AUDIO); });
  $('group-video').addEventListener('click', () => groupDial(VIDEO));

  $('accept').addEventListener('click', acceptInvite);
  $('reject').addEventListener('click', rejectInvite);
  $('hangup').addEventListener('click', hangup);
  $('mute').addEventListener('click', toggleMute);
  $('camera').addEventListener('click', toggleCamera);
  $('to-audio').addEventListener('click', () => switchTo(AUDIO));
  $('to-video').addEventListener('click', () => switchTo(VIDEO));
  $('devices-refresh').addEventListener('click', fillDevices);
  $('devices').addEventListener('toggle', () => { if ($('devices').open) fillDevices(); });
  $('camera-select').addEventListener('change', (e) => pickDevice('video', e.target));
  $('mic-select').addEventListener('change', (e) => pickDevice('audio', e.target));

  presenceSupported = typeof TRTCCalling.prototype?.watchPresence === 'function';
  render();
  renderContacts();
  setStatus('Not logged in.');
  (me ? $('dial-user') : ($('login-user').value ? $('login-sig') : $('login-sdkappid'))).focus();
}

init();
