// Every limit in one place (TigerStyle: "put a limit on everything"). Names end in MAX/MIN
// and carry their unit. Relationships between limits are asserted at load time.
import { assert } from './assert.js';

/** Largest WebSocket frame (one frame = one message) the server or client accepts. */
export const FRAME_BYTES_MAX = 1024 * 1024;
/** Deepest nesting of arrays/maps a decoded message may have. */
export const MESSAGE_DEPTH_MAX = 16;
/** Longest string inside a decoded message. */
export const MESSAGE_STRING_BYTES_MAX = 64 * 1024;
/** Most entries in one decoded array or map. */
export const MESSAGE_ENTRIES_MAX = 4096;
/** Bytes queued for sending on one connection before it is closed as a slow consumer. */
export const SEND_QUEUE_BYTES_MAX = 8 * 1024 * 1024;
/** Messages per connection per second (token bucket refill) and burst size. */
export const MESSAGES_PER_SECOND_MAX = 2000;
export const MESSAGES_BURST_MAX = 4000;
/** Requests awaiting a response on one connection. */
export const PENDING_REQUESTS_MAX = 10_000;
/** Subscriptions one connection may hold. */
export const SUBSCRIPTIONS_MAX = 256;
/** Default time a request waits for its response. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Heartbeat period and the silence after which a peer is taken for dead. */
export const HEARTBEAT_INTERVAL_MS = 15_000;
export const HEARTBEAT_TIMEOUT_MS = 45_000;
/** Client reconnect backoff. */
export const RECONNECT_DELAY_MIN_MS = 250;
export const RECONNECT_DELAY_MAX_MS = 30_000;
/**
 * Signed commands an exchange holds between arrival and answer (verifying, waiting for their turn,
 * waiting for the journal). Past it a command is refused at once with server_busy: at about
 * 10,000 commands per second this bounds the wait of an accepted command to well under a second.
 */
export const COMMANDS_IN_FLIGHT_MAX = 1024;
/** Frames of one connection an exchange handles per turn of its event loop (fairness between clients). */
export const FRAMES_PER_TURN_MAX = 32;
/** What a server_busy answer asks the client to wait before it tries again. */
export const BUSY_RETRY_AFTER_MS = 250;
/** Per-identity rate buckets an exchange keeps (cleared when full: a reset only forgives). */
export const IDENTITY_BUCKETS_MAX = 100_000;
/** Nonces: length and lifetime. */
export const NONCE_BYTES = 16;
export const NONCE_TTL_MS = 180_000;

assert(SEND_QUEUE_BYTES_MAX >= 2 * FRAME_BYTES_MAX, 'a send queue must hold at least two frames');
assert(MESSAGES_BURST_MAX >= MESSAGES_PER_SECOND_MAX, 'burst must cover one second of traffic');
assert(HEARTBEAT_TIMEOUT_MS > 2 * HEARTBEAT_INTERVAL_MS, 'heartbeat timeout must allow a lost beat');
assert(RECONNECT_DELAY_MIN_MS < RECONNECT_DELAY_MAX_MS, 'reconnect delays must be ordered');
assert(MESSAGE_STRING_BYTES_MAX < FRAME_BYTES_MAX, 'a string must fit in a frame');
