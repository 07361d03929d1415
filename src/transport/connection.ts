// A Connection carries whole frames (one frame = one message) between two peers. The WebSocket
// transport and the in-process transport both implement it, so everything above (RPC, CAFS sync,
// the exchange and the daemon) runs unchanged over either.

/** WebSocket close codes we use (4000-4999 is the private range). */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  messageTooBig: 1009,
  /** The server stopped after an internal failure (fail-stop): reconnect and resend. */
  internalError: 1011,
  slowConsumer: 4001,
  rateLimited: 4002,
  malformed: 4003,
  heartbeatTimeout: 4004,
  unsupportedVersion: 4005,
  networkFault: 4007,
  /** The encrypted peer link failed: a frame did not decrypt, or the handshake did not complete. */
  secureChannel: 4008,
} as const;

export interface ConnectionHandlers {
  /** One whole frame arrived. */
  frame(frame: Uint8Array): void;
  /** The connection closed (by either side, or by a fault). Called exactly once. */
  close(code: number, reason: string): void;
}

export interface Connection {
  /** The peer's address as this side sees it ("127.0.0.1:51234", or a simulated name). */
  readonly remoteAddress: string;
  /** Bytes queued for sending that the peer has not yet taken. */
  readonly bufferedBytes: number;
  readonly isOpen: boolean;
  /**
   * Installs the handlers. Frames that arrive before this call are held (in order) and handed
   * over here, so an owner that attaches late loses nothing.
   */
  setHandlers(handlers: ConnectionHandlers): void;
  /**
   * Queues one frame. Returns false when the connection is closed. When the queue would exceed
   * its byte limit the connection closes itself with CLOSE_CODES.slowConsumer and returns false.
   */
  send(frame: Uint8Array): boolean;
  close(code: number, reason: string): void;
  /** Stops reading from the peer (back-pressure through the transport); frames already read may still arrive. */
  pause?(): void;
  resume?(): void;
}

/** A place that accepts connections (a WebSocket server, or an in-process listener). */
export type ConnectionListener = (connection: Connection) => void;
