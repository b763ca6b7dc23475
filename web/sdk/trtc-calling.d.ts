// Types of termcall's browser SDK (trtc-calling.js): the TRTCCalling API
// over termcall's signaling server. Payload field names are those of the Go
// engine (callcore/events.go), so a page and `termcall headless` see the same
// events.

/** The strings the events are emitted as (TRTCCalling.EVENT's values). */
export interface TRTCCallingEventMap {
  ERROR: 'onError';
  SDK_READY: 'sdkReady';
  INVITED: 'onInvited';
  USER_ACCEPT: 'onUserAccept';
  USER_ENTER: 'onUserEnter';
  USER_LEAVE: 'onUserLeave';
  REJECT: 'onReject';
  LINE_BUSY: 'onLineBusy';
  NO_RESP: 'onNoResp';
  CALLING_TIMEOUT: 'onCallingTimeout';
  CALLING_CANCEL: 'onCallingCancel';
  CALL_END: 'onCallEnd';
  CALLING_END: 'onCallEnd';
  KICKED_OUT: 'onKickedOut';
  USER_VIDEO_AVAILABLE: 'onUserVideoAvailable';
  USER_AUDIO_AVAILABLE: 'onUserAudioAvailable';
  USER_VOICE_VOLUME: 'onUserVoiceVolume';
  GROUP_CALL_INVITEE_LIST_UPDATE: 'onGroupCallInviteeListUpdate';
  /** termcall's own: the call type of a 1:1 call changed. */
  CALL_TYPE_CHANGED: 'onCallTypeChanged';
  /** termcall's own: a watched user's presence changed (watchPresence). */
  PRESENCE: 'onPresence';
  /** termcall's own: a camera, microphone or speaker came or went (TRTCCalling's spelling and the plain one). */
  DEVICED_UPDATED: 'onDeviceUpdated';
  DEVICE_UPDATED: 'onDeviceUpdated';
}

export type EventName = TRTCCallingEventMap[keyof TRTCCallingEventMap];

/** 1 audio, 2 video. */
export type CallType = 1 | 2;

/**
 * Why something ended: a call (CALL_END), a member's part in it
 * (USER_LEAVE), an invitation (CALLING_CANCEL) or the login (KICKED_OUT).
 */
export type EndReason =
  | 'hangup' | 'logout' | 'kicked' | 'disconnected' | 'rejected' | 'busy' | 'no_answer'
  | 'cancelled' | 'call_ended' | 'multipleAccount' | 'shutdown' | 'media_failed' | 'media_lost'
  | (string & {});

/** ERROR. `message` is the same text as `msg`. */
export interface ErrorPayload {
  code: number;
  msg: string;
  message: string;
}

/** SDK_READY. */
export interface SDKReadyPayload {
  name: 'ts_im_ready';
  userID: string;
}

/** inviteData of INVITED. */
export interface InviteData {
  version: number; // 4
  callType: CallType;
  callEnd: number; // 0
  roomID: number;
}

/** INVITED (the invitee). */
export interface InvitedPayload {
  inviteID: string;
  sponsor: string;
  /** Everyone invited with this invitation (self included). */
  userIDList: string[];
  isFromGroup: boolean;
  groupID?: string;
  inviteData: InviteData;
  /** Ringing timeout in seconds, 0 = none. */
  timeout: number;
  sponsorNickName?: string;
  sponsorAvatar?: string;
}

/** USER_ACCEPT (the accepter, not the local user), REJECT (the rejecter), USER_ENTER. */
export interface UserRefPayload {
  userID: string;
}

/** USER_LEAVE. reason: hangup, logout, kicked, disconnected, media_failed, media_lost. */
export interface UserLeavePayload {
  userID: string;
  reason?: EndReason;
}

/** NO_RESP (the caller's view of a timeout). userID is the first of userIDList. */
export interface NoRespPayload {
  inviteID: string;
  sponsor: string;
  userID: string;
  userIDList: string[];
}

/** LINE_BUSY: to the caller with userID = the busy user; to the busy user with sponsor = who called. */
export interface LineBusyPayload {
  inviteID: string;
  sponsor: string;
  userID: string;
}

/** CALLING_CANCEL (the invitee). reason: cancelled, call_ended, disconnected. */
export interface CallingCancelPayload {
  inviteID: string;
  sponsor: string;
  reason?: EndReason;
}

/** CALLING_TIMEOUT (the invitee's view of a timeout). */
export interface CallingTimeoutPayload {
  inviteID: string;
  sponsor: string;
  userIDList: string[];
}

/** CALL_END. userID: who ended it; callEnd: duration in seconds. */
export interface CallEndPayload {
  userID: string;
  callEnd: number;
  reason: EndReason;
  roomID: number;
}

/** KICKED_OUT. */
export interface KickedOutPayload {
  reason: EndReason;
}

/** USER_VIDEO_AVAILABLE. */
export interface VideoAvailablePayload {
  userID: string;
  isVideoAvailable: boolean;
}

/** USER_AUDIO_AVAILABLE. */
export interface AudioAvailablePayload {
  userID: string;
  isAudioAvailable: boolean;
}

/** USER_VOICE_VOLUME, once a second in a call: 0-100 per user, the local user under their own ID. */
export interface VoiceVolumePayload {
  volumeMap: Record<string, number>;
}

/** GROUP_CALL_INVITEE_LIST_UPDATE: the invitees still ringing. */
export interface InviteeListPayload {
  userIDList: string[];
}

/** CALL_TYPE_CHANGED. userID: who switched ('' after a resume). */
export interface CallTypeChangedPayload {
  oldCallType: CallType;
  newCallType: CallType;
  userID: string;
}

/** PRESENCE, and what watchPresence resolves with. */
export interface PresencePayload {
  userID: string;
  status: 'online' | 'busy' | 'offline' | (string & {});
  nickName?: string;
  avatar?: string;
}

/** DEVICE_UPDATED: the current device lists. */
export interface DevicesUpdatedPayload {
  cameras: DeviceInfo[];
  microphones: DeviceInfo[];
  speakers: DeviceInfo[];
}

/** Event string → payload. */
export interface TRTCCallingPayloads {
  onError: ErrorPayload;
  sdkReady: SDKReadyPayload;
  onInvited: InvitedPayload;
  onUserAccept: UserRefPayload;
  onUserEnter: UserRefPayload;
  onUserLeave: UserLeavePayload;
  onReject: UserRefPayload;
  onLineBusy: LineBusyPayload;
  onNoResp: NoRespPayload;
  onCallingTimeout: CallingTimeoutPayload;
  onCallingCancel: CallingCancelPayload;
  onCallEnd: CallEndPayload;
  onKickedOut: KickedOutPayload;
  onUserVideoAvailable: VideoAvailablePayload;
  onUserAudioAvailable: AudioAvailablePayload;
  onUserVoiceVolume: VoiceVolumePayload;
  onGroupCallInviteeListUpdate: InviteeListPayload;
  onCallTypeChanged: CallTypeChangedPayload;
  onPresence: PresencePayload;
  onDeviceUpdated: DevicesUpdatedPayload;
}

export interface TRTCCallingOptions {
  SDKAppID: number;
  /** ws:// or wss:// URL of termcall's /ws; default: the /ws of the server this module was imported from (wss after https). */
  server?: string;
}

/** What call() and groupCall() resolve with. */
export interface CallInfo {
  inviteID: string;
  roomID: number;
  invitees: string[];
}

export interface DeviceInfo {
  deviceId: string;
  label: string;
  groupId: string;
  kind: MediaDeviceKind;
}

export type VideoQuality = '120p' | '180p' | '240p' | '360p' | '480p' | '720p' | '1080p';

export interface VideoProfile {
  width: number;
  height: number;
  frameRate?: number;
  /** kbit/s */
  bitrate?: number;
}

export type CallState = 'idle' | 'dialing' | 'ringing' | 'connected';

export interface ErrorCodes {
  SWITCH_TO_AUDIO_FAILED: 60001;
  SWITCH_TO_VIDEO_FAILED: 60002;
  NO_MICROPHONE: 60003;
  NO_CAMERA: 60004;
  NOT_MEDIA_ACCESS: 60005;
  NO_WEBRTC: 60006;
  MEDIA_FAILED: 60101;
  ICE_SERVER: 60102;
  UNSUPPORTED_CODEC: 60103;
  DEVICE_FAILED: 60104;
  BAD_REQUEST: 4000;
  TOO_LARGE: 4002;
  NOT_LOGGED_IN: 4010;
  UNKNOWN_INVITE: 4040;
  WRONG_STATE: 4090;
  INTERNAL: 5000;
}

/** What every method rejects with: code is a TRTCCalling (600xx/601xx) or protocol (4xxx/5000) code. */
export declare class TRTCCallingError extends Error {
  constructor(code: number, message: string);
  name: 'TRTCCallingError';
  code: number;
}

export declare const EVENT: Readonly<TRTCCallingEventMap>;
export declare const CALL_TYPE: Readonly<{ AUDIO_CALL: 1; VIDEO_CALL: 2 }>;
export declare const ERROR_CODE: Readonly<ErrorCodes>;

export declare class TRTCCalling {
  static readonly EVENT: Readonly<TRTCCallingEventMap>;
  static readonly CALL_TYPE: Readonly<{ AUDIO_CALL: 1; VIDEO_CALL: 2 }>;
  static readonly ERROR_CODE: Readonly<ErrorCodes>;
  static readonly VIDEO_PROFILES: Readonly<Record<VideoQuality, Required<VideoProfile>>>;
  static readonly TRTCCallingError: typeof TRTCCallingError;

  constructor(options: TRTCCallingOptions);
  readonly SDKAppID: number;

  /** Subscribes to an event (an EVENT value; the constant's key is taken too). Handlers run in order, after the code that caused the event. */
  on<E extends EventName>(eventName: E, callback: (payload: TRTCCallingPayloads[E]) => void, context?: unknown): void;
  on(eventName: keyof TRTCCallingEventMap, callback: (payload: any) => void, context?: unknown): void;
  /** Removes the subscription with that callback and context; without a callback, every subscription of the event. */
  off<E extends EventName>(eventName: E, callback?: (payload: TRTCCallingPayloads[E]) => void, context?: unknown): void;
  off(eventName: keyof TRTCCallingEventMap, callback?: (payload: any) => void, context?: unknown): void;

  /** Connects and logs in; SDK_READY follows. A dropped socket is redialled and the session resumed. */
  login(params: { userID: string; userSig: string }): Promise<void>;
  /** Logs out (leaving any call) and disconnects. */
  logout(): Promise<void>;

  /** 1:1 call. timeout in seconds, default 30, 0 = ring until answered or cancelled. */
  call(params: { userID: string; type: CallType; timeout?: number }): Promise<CallInfo>;
  /** Group call (in a call: adds the users to it). timeout default 30. */
  groupCall(params: { userIDList: string[]; type: CallType; groupID?: string; timeout?: number }): Promise<CallInfo>;
  /** Accepts an invitation (inviteID omitted: the ringing one). */
  accept(params?: { inviteID?: string; roomID?: number; callType?: CallType }): Promise<void>;
  /** Rejects an invitation (inviteID omitted: the ringing one). */
  reject(params?: { inviteID?: string; isBusy?: boolean; callType?: CallType }): Promise<void>;
  /** Leaves the call, or cancels it before anyone answered. Resolves after CALL_END. */
  hangup(): Promise<void>;

  /** Plays userID's video in a <video autoplay playsinline muted> created inside the element with that id. Remote audio plays regardless. */
  startRemoteView(params: { userID: string; videoViewDomID: string }): Promise<void>;
  stopRemoteView(params: { userID: string; videoViewDomID: string }): Promise<void>;
  /** Shows the local camera (in or out of a call). */
  startLocalView(params: { userID?: string; videoViewDomID: string }): Promise<void>;
  stopLocalView(params: { userID?: string; videoViewDomID: string }): Promise<void>;

  openCamera(): Promise<void>;
  closeCamera(): Promise<void>;
  setMicMute(isMute: boolean): Promise<void>;
  /** 1:1 calls only; errors carry 60001 / 60002. CALL_TYPE_CHANGED follows. */
  switchToAudioCall(): Promise<void>;
  switchToVideoCall(): Promise<void>;
  setVideoQuality(profile: VideoQuality | VideoProfile): Promise<void>;

  getCameras(): Promise<DeviceInfo[]>;
  getMicrophones(): Promise<DeviceInfo[]>;
  getSpeakers(): Promise<DeviceInfo[]>;
  /** Uses another device; in a call the new track replaces the old one on the same RTP stream. */
  switchDevice(params: { deviceType: 'video' | 'audio' | 'speaker' | 'camera' | 'microphone'; deviceId: string }): Promise<void>;

  /** termcall: the call state. */
  getState(): CallState;
  /** termcall: the logged-in userID ('' when logged out). */
  getUserID(): string;
  /** termcall: the current call's connection with userID, or null. */
  getPeerConnection(userID: string): RTCPeerConnection | null;
  /** termcall: how others see you (INVITED's sponsorNickName/sponsorAvatar); kept across resumes. */
  setSelfInfo(info: { nickName?: string; avatar?: string }): Promise<void>;
  /** termcall: follow these users' presence (replaces the previous list, at most 256); changes come as PRESENCE. */
  watchPresence(userIDList: string[]): Promise<PresencePayload[]>;
}

export default TRTCCalling;
