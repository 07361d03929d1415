// The daemon: one participant's agent on the market (docs/daemon.md). It composes the identity,
// the embedded store (trades and mandates), the on-disk CAFS, the link to the exchange, the
// worker registry, the trade runtime (trades as actors of the trade logic) with its buy and sell executors, the peer endpoint buyers reach it at (directly or
// through the exchange's relay), and the local HTTP API. Trades resume where they were after a restart.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import { join } from 'node:path';
import { DiskChunkStore } from '../cafs/disk-store.js';
import type { Clock } from '../clock.js';
import type { Identity } from '../crypto/keys.js';
import { createPrng, type Prng } from '../random.js';
import { lockDirectory, type DirectoryLock } from '../store/dir-lock.js';
import { LmdbStore } from '../store/lmdb.js';
import { createGuardedServer } from '../transport/http-guard.js';
import { CLOSE_CODES, type Connection } from '../transport/connection.js';
import { listen } from '../transport/listen.js';
import { RpcPeer } from '../transport/rpc.js';
import { generateStaticKeyPair, SECURE_FRAME_BYTES_MAX } from '../transport/secure-connection.js';
import { attachWebSocketServer, type WebSocketEndpoint } from '../transport/ws-server.js';
import { Buyer, type BuyActor } from './buyer.js';
import { DaemonStore } from './daemon-store.js';
import { ExchangeLink } from './exchange-link.js';
import { KEEP_RESULTS_DEFAULT } from './config.js';
import { CAFS_BUDGET_BYTES_DEFAULT, FileRetention } from './file-retention.js';
import { BUILT_IN_VERIFIERS, type ResultVerifiers } from './result-checks.js';
import { createLocalApi } from './local-api.js';
import type { AccessPolicy } from './api-access.js';
import { Mandates } from './mandates.js';
import { peerProtocol, type PeerProtocol } from '../protocol/peer.js';
import { acceptPeer, handshakeText } from './peer-link.js';
import { RelayListener } from './relay-listener.js';
import { Seller, type SellActor } from './seller.js';
import { TradeRuntime } from './trade-runtime.js';
import { TRADE_HISTORY_MAX, type TradeDeps } from './trading.js';
import { WorkerRegistry } from './workers.js';

export interface DaemonOptions {
  readonly clock: Clock;
  readonly identity: Identity;
  readonly dataDir: string;
  /** The exchange's WebSocket URL, e.g. ws://127.0.0.1:8090/ws. */
  readonly exchangeUrl: string;
  /** Local API (default 127.0.0.1:8091; port 0 picks a free one). */
  readonly apiHost?: string;
  readonly apiPort?: number;
  /** Peer endpoint for buyers (default 127.0.0.1, port 0 = a free one). */
  readonly peerHost?: string;
  readonly peerPort?: number;
  /** The URL buyers are told (default ws://<peerHost>:<port>/peer); for NAT port forwarding. */
  readonly peerPublicUrl?: string;
  /**
   * Whether buyers reach this daemon through the exchange's relay: 'always', 'never', or 'auto'
   * (the default): directly when a public peer URL is set or the exchange is on this machine,
   * else through the relay.
   */
  readonly relay?: 'auto' | 'always' | 'never';
  /** Bids a buy may place before it fails (default 3). */
  readonly attemptsMax?: number;
  /** What CAFS may hold before files no open trade needs are collected (default 8 GiB). */
  readonly cafsBudgetBytes?: number;
  /** Results of completed purchases kept whatever the budget (default 20). */
  readonly keepResults?: number;
  readonly verifiers?: ResultVerifiers;
  readonly random?: (count: number) => Uint8Array;
  readonly prng?: Prng;
  readonly log?: (line: string) => void;
}

export const PEER_PATH = '/peer';
/** Buyer connections in their Noise handshake at once (each times out after 10 s). */
const PEER_HANDSHAKES_MAX = 256;

export class Daemon {
  apiUrl = '';
  peerUrl = '';
  readonly link: ExchangeLink;
  readonly cafs: DiskChunkStore;
  readonly workers: WorkerRegistry;
  readonly mandates: Mandates;
  readonly buyer: Buyer;
  readonly seller: Seller;
  /** Where the trades run: actors of the trade logic, saved on every step. */
  readonly runtime: TradeRuntime;
  /** Collects CAFS files no open trade needs once the store is over its budget. */
  readonly retention: FileRetention;
  private readonly store: LmdbStore;
  private readonly stopping = new AbortController();
  private apiServer: Server | undefined;
  private peerServer: Server | undefined;
  private peerEndpoint: WebSocketEndpoint | undefined;
  private relayListener: RelayListener | undefined;
  /** Open connections from buyers, direct or relayed, and those still in their handshake. */
  private readonly peers = new Set<RpcPeer<PeerProtocol>>();
  private readonly handshaking = new Set<Connection>();
  private readonly staticKeyPair = generateStaticKeyPair();
  private stopped: Promise<void> | undefined;
  private readonly token: string;
  private readonly random: (count: number) => Uint8Array;
  private readonly prng: Prng;
  private readonly log: (line: string) => void;

  private constructor(
    readonly options: DaemonOptions,
    private readonly lock: DirectoryLock,
  ) {
    this.token = apiToken(options.dataDir);
    this.store = new LmdbStore(join(options.dataDir, 'store'));
    this.cafs = new DiskChunkStore(join(options.dataDir, 'cafs'));
    const random = options.random ?? ((count: number) => new Uint8Array(randomBytes(count)));
    const prng = options.prng ?? createPrng(Buffer.from(random(4)).readUInt32BE(0));
    const log = options.log ?? (() => {});
    this.random = random;
    this.prng = prng;
    this.log = log;
    this.link = new ExchangeLink({ url: options.exchangeUrl, identity: options.identity, clock: options.clock, prng, random, onState: (state, detail) => log(`exchange ${state}: ${detail}`), log });
    const daemonStore = new DaemonStore(this.store);
    this.workers = new WorkerRegistry(options.clock, daemonStore);
    this.mandates = new Mandates(daemonStore, options.clock);
    const deps: TradeDeps = {
      link: this.link,
      cafs: this.cafs,
      workers: this.workers,
      mandates: this.mandates,
      clock: options.clock,
      identity: options.identity,
      staticKeyPair: this.staticKeyPair,
      random,
      verifiers: options.verifiers ?? BUILT_IN_VERIFIERS,
      log,
      stopping: this.stopping.signal,
      tradeEnded: () => this.retention.request(),
    };
    this.runtime = new TradeRuntime({ clock: options.clock, store: daemonStore, log, stopping: this.stopping.signal });
    this.seller = new Seller(deps, this.runtime, async () => this.peerUrl);
    this.buyer = new Buyer(deps, this.runtime, this.seller, options.attemptsMax ?? 3);
    this.retention = new FileRetention(
      { cafs: this.cafs, clock: options.clock, trades: () => this.runtime.trades(), inUse: () => this.buyer.filesInUse(), log },
      { budgetBytes: options.cafsBudgetBytes ?? CAFS_BUDGET_BYTES_DEFAULT, keepResults: options.keepResults ?? KEEP_RESULTS_DEFAULT },
    );
  }

  get identity(): Identity {
    return this.options.identity;
  }

  /** The token programs send as `Authorization: Bearer <token>` (DATA-DIR/api-token). */
  get apiToken(): string {
    return this.token;
  }

  /** The page's address with the token in its fragment (never sent to a server): what the user opens. */
  get pageUrl(): string {
    return `${this.apiUrl}/#token=${this.token}`;
  }

  static async start(options: DaemonOptions): Promise<Daemon> {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const lock = await lockDirectory(options.dataDir, 'bitwrk daemon');
    let daemon: Daemon;
    try {
      daemon = new Daemon(options, lock);
    } catch (error) {
      await lock.release();
      throw error;
    }
    try {
      await daemon.open();
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    return daemon;
  }

  private async open(): Promise<void> {
    const { options } = this;
    await this.link.start();
    await this.mandates.load();
    await this.workers.load();
    await this.startPeerEndpoint();
    if (usesRelay(options)) await this.startRelayListener();
    const records = await new DaemonStore(this.store).loadTrades();
    // Bids placed just before a crash, whose answer never arrived, belong to no trade: withdraw them.
    await this.buyer.withdrawOrphans(new Set(records.map((record) => record.state.context.bidId)));
    this.runtime.restore(records);
    this.seller.resumeIds(records.flatMap((record) => (record.side === 'sell' ? [record.state] : [])));
    this.buyer.resumeIds(records.flatMap((record) => (record.side === 'buy' ? [record.state] : [])));
    await this.runtime.forgetOld('buy', TRADE_HISTORY_MAX);
    await this.runtime.forgetOld('sell', TRADE_HISTORY_MAX);
    this.retention.request();
    const apiHost = options.apiHost ?? '127.0.0.1';
    let policy: AccessPolicy | undefined;
    const app = createLocalApi(this, () => policy!);
    // Uploads of work may take long; idle sockets and slow headers may not.
    this.apiServer = createGuardedServer(app.handler as RequestListener, { requestTimeoutMs: 0 }).server;
    const apiPort = await listen(this.apiServer, options.apiPort ?? 8091, apiHost, "the daemon's API");
    policy = { listenHost: apiHost, port: apiPort, token: this.apiToken };
    this.apiUrl = urlOf('http', apiHost, apiPort, '');
    this.seller.offer();
  }

  private async startPeerEndpoint(): Promise<void> {
    const { options } = this;
    const host = options.peerHost ?? '127.0.0.1';
    this.peerServer = createGuardedServer((_request, response) => response.writeHead(404).end()).server;
    this.peerEndpoint = attachWebSocketServer(this.peerServer, {
      clock: options.clock,
      path: PEER_PATH,
      frameBytesMax: SECURE_FRAME_BYTES_MAX,
      onConnection: (connection) => this.acceptPeer(connection),
    });
    const port = await this.listenPeer(host);
    this.peerUrl = options.peerPublicUrl ?? urlOf('ws', host, port, PEER_PATH);
  }

  /**
   * Listens on the configured peer port; with none (0), on the port this daemon had before, kept
   * in DATA-DIR/peer-port: buyers of transactions under way know the seller by the URL it
   * announced, so a restart must not move it. A remembered port now taken gives way to a free one.
   */
  private async listenPeer(host: string): Promise<number> {
    const configured = this.options.peerPort ?? 0;
    const file = join(this.options.dataDir, 'peer-port');
    const remembered = configured === 0 ? readPort(file) : undefined;
    let port: number;
    try {
      port = await listen(this.peerServer!, remembered ?? configured, host, "the daemon's peer endpoint");
    } catch (error) {
      if (remembered === undefined) throw error;
      this.log(`peer endpoint: port ${remembered} of the last run is taken (${(error as Error).message}); buyers of open transactions cannot reach the old address`);
      port = await listen(this.peerServer!, 0, host, "the daemon's peer endpoint");
    }
    if (configured === 0) writeFileSync(file, `${port}\n`, { mode: 0o600 });
    return port;
  }

  private async startRelayListener(): Promise<void> {
    const { options } = this;
    this.relayListener = new RelayListener({
      exchangeUrl: options.exchangeUrl,
      exchangeId: this.link.info.exchangeId,
      identity: options.identity,
      clock: options.clock,
      prng: this.prng,
      random: this.random,
      onConnection: (connection) => this.acceptPeer(connection),
      log: this.log,
    });
    await this.relayListener.start();
    this.peerUrl = this.relayListener.dialUrl;
  }

  /**
   * A buyer's connection (direct or relayed): the Noise handshake first, then the peer protocol
   * with the seller side, whose hello binds the buyer's key to this link's handshake hash.
   */
  private acceptPeer(connection: Connection): void {
    if (this.stopping.signal.aborted) return connection.close(CLOSE_CODES.goingAway, 'the daemon is stopping');
    if (this.handshaking.size >= PEER_HANDSHAKES_MAX) return connection.close(CLOSE_CODES.goingAway, 'too many handshakes at once');
    this.handshaking.add(connection);
    acceptPeer(connection, { clock: this.options.clock, staticKeyPair: this.staticKeyPair }).then(
      (link) => {
        this.handshaking.delete(connection);
        if (this.stopping.signal.aborted) return link.connection.close(CLOSE_CODES.goingAway, 'the daemon is stopping');
        const peer = new RpcPeer(link.connection, peerProtocol, this.seller.peerHandlers(handshakeText(link)), { clock: this.options.clock });
        this.peers.add(peer);
        void peer.closed.then(() => this.peers.delete(peer));
      },
      (error: unknown) => {
        this.handshaking.delete(connection);
        this.log(`peer: handshake with ${connection.remoteAddress} failed: ${(error as Error).message}`);
      },
    );
  }

  info() {
    return {
      address: this.identity.address,
      network: this.identity.network,
      exchangeUrl: this.options.exchangeUrl,
      exchangeId: this.link.info?.exchangeId ?? null,
      exchangeState: this.link.connection.state,
      articles: this.link.info?.articles.map((article) => article.articleId) ?? [],
      apiUrl: this.apiUrl,
      peerUrl: this.peerUrl,
    };
  }

  trades(): Array<BuyActor | SellActor> {
    return (this.runtime.trades() as Array<BuyActor | SellActor>).sort((a, b) => a.state.context.createdMs - b.state.context.createdMs);
  }

  /** Stops taking work, ends waits (trades stay saved where they are), closes everything. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown();
    return this.stopped;
  }

  private async shutDown(): Promise<void> {
    if (this.link.client !== undefined) await this.seller.withdrawOpenBids();
    this.stopping.abort('the daemon is stopping');
    // Peer connections first: an effect waiting on a peer's answer then ends its wait at once.
    this.buyer.closeSessions();
    this.relayListener?.close();
    for (const peer of this.peers) peer.close(CLOSE_CODES.goingAway, 'the daemon is stopping');
    for (const connection of this.handshaking) connection.close(CLOSE_CODES.goingAway, 'the daemon is stopping');
    await this.peerEndpoint?.close();
    if (this.peerServer?.listening) await new Promise<void>((resolve) => this.peerServer!.close(() => resolve()));
    await this.runtime.idle();
    if (this.apiServer !== undefined) {
      this.apiServer.closeAllConnections();
      await new Promise<void>((resolve) => this.apiServer!.close(() => resolve()));
    }
    this.link.close();
    await this.store.close();
    await this.retention.idle(); // a collection under way finishes before its store closes
    this.cafs.close();
    await this.lock.release();
  }
}

function usesRelay(options: DaemonOptions): boolean {
  const relay = options.relay ?? 'auto';
  if (relay !== 'auto') return relay === 'always';
  return options.peerPublicUrl === undefined && !isLoopbackHost(new URL(options.exchangeUrl).hostname);
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname.startsWith('127.');
}

function urlOf(scheme: string, host: string, port: number, path: string): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${shown}:${port}${path}`;
}

/** The token every change to the daemon needs (and every caller from another machine); created on first start, readable only by the user. */
function apiToken(dataDir: string): string {
  const path = join(dataDir, 'api-token');
  if (!existsSync(path)) writeFileSync(path, randomBytes(24).toString('hex'), { mode: 0o600 });
  return readFileSync(path, 'utf8').trim();
}

/** A port number saved in `file`, or undefined when there is none or it is not one. */
function readPort(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  const port = Number(text);
  return /^\d{1,5}$/.test(text) && port >= 1 && port <= 65535 ? port : undefined;
}
