// The bounds on what one client can hold of a server process, apart from the server itself: `serve --help`
// shows the defaults without loading the HTTP stack.

/** What one client can hold of a server process: time to send a request, and connections. */
export interface ConnectionLimits {
  /** A request's headers and body must arrive within this (ms); a trickling body is cut off. */
  requestTimeoutMs: number;
  /** The headers alone within this (ms). */
  headersTimeoutMs: number;
  /** Open connections per process. */
  maxConnections: number;
  /** Open connections per client address. */
  maxConnectionsPerClient: number;
}

export const CONNECTION_DEFAULTS: ConnectionLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  maxConnections: 2_000,
  maxConnectionsPerClient: 50,
};
