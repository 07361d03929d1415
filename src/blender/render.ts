// The buyer's render: pack the scene once, plan the tiles, buy every tile of every frame through
// the buyer's daemon (so many at once), stitch each frame when its tiles are in, and write it.
// A tile whose purchase fails, or whose image is not what was ordered, is bought again, up to
// `retries` times; a frame that cannot be completed is reported, and the others go on.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { LocalApiClient, TradeView } from '../daemon/local-client.js';
import { blenderArticleId, parseBlenderArticle } from '../market/blender-articles.js';
import { AVOID_SELLERS_MAX } from '../market/limits.js';
import { runBlender, scriptPath } from './blender.js';
import { encodeJobHeader } from './job.js';
import { packScene, readPayload, type PackedScene } from './pack.js';
import { planTiles, type PlannedTile, type TilePlan } from './tiling.js';

/** Overscan with adaptive sampling on: it couples pixels 1-3 px apart, so 4 or more makes tiles exact. */
export const ADAPTIVE_OVERSCAN_PX = 8;
/**
 * What starting one more tile costs, in rays (Blender's start-up, load and sync: about 0.85 s a
 * tile, while Cycles on a common CPU traces some tens of millions of rays a second).
 */
export const TILE_OVERHEAD_RAYS = 32 * 2 ** 20;
/** How long one wait for a result lasts before the progress is shown again. */
const RESULT_POLL_SECONDS = 5;

export interface RenderOptions {
  readonly scene: string;
  /** Frames to render (none: the scene's current frame). */
  readonly frames: readonly number[];
  readonly outputDir: string;
  readonly article: string;
  /**
   * The user named the article (not only its cost class): a scene with Open Shading Language on an
   * article without it is then an error; otherwise the same class's OSL article is bought.
   */
  readonly articleGiven?: boolean;
  /** The most to pay for one tile (sat); without it a buy mandate of the daemon must allow the purchase. */
  readonly maxPriceSats?: number;
  /** Tiles bought at once. */
  readonly concurrency: number;
  /** Purchases of one tile after the first that failed. */
  readonly retries: number;
  readonly blender: string;
  readonly api: LocalApiClient;
  /** Pixels of overscan (default: 0, or ADAPTIVE_OVERSCAN_PX with adaptive sampling on). */
  readonly overscan?: number;
  /** Force a grid of columns x rows. */
  readonly grid?: { readonly columns: number; readonly rows: number };
  /** At least this many tiles per frame (default: the concurrency). */
  readonly minTiles?: number;
  /** Run the scene's scripts while packing (it is the buyer's own file). */
  readonly autoexec: boolean;
  /** Keep the packed scene and the tiles (their folder is in the 'packed' event) for inspection. */
  readonly keepTiles?: boolean;
  readonly tmpRoot?: string;
  readonly signal: AbortSignal;
  readonly report: (event: RenderEvent) => void;
  /** Milliseconds since some start (for ETA); injected for tests. */
  readonly now?: () => number;
}

export type RenderEvent =
  | { readonly type: 'packed'; readonly packed: PackedScene; readonly plan: TilePlan }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'tile'; readonly frame: number; readonly tile: PlannedTile; readonly tradeId: string | null; readonly state: 'bought' | 'done' | 'failed'; readonly message?: string; readonly sats?: number; readonly path?: string }
  | { readonly type: 'progress'; readonly tilesDone: number; readonly tilesTotal: number; readonly satsSpent: number; readonly etaMs: number | null; readonly framesDone: number; readonly framesTotal: number }
  | { readonly type: 'frame'; readonly frame: number; readonly ok: boolean; readonly paths: readonly string[]; readonly message?: string; readonly stitchMs?: number; readonly summary: FrameSummary };

export interface FrameSummary {
  readonly frame: number;
  readonly ok: boolean;
  readonly paths: readonly string[];
  readonly satsSpent: number;
  readonly purchases: number;
  /** Bytes of the jobs bought, and of their chunks that went on the wire to sellers (CAFS sends only chunks a seller lacks). */
  readonly jobBytes: number;
  readonly bytesSent: number;
  readonly error?: string;
}

export interface RenderSummary {
  readonly frames: readonly FrameSummary[];
  readonly satsSpent: number;
  readonly cancelled: boolean;
  readonly plan: TilePlan;
}

export class RenderError extends Error {
  override name = 'RenderError';
}

const stitchStatus = z.object({ ok: z.boolean(), problems: z.array(z.object({ path: z.string(), error: z.string() })), warnings: z.array(z.string()).default([]) });

interface TileTask {
  readonly frame: number;
  readonly tile: PlannedTile;
  readonly path: string;
  attempts: number;
  /** Sellers whose purchase of this tile failed: a retry asks the daemon to avoid them. */
  readonly avoid: Set<string>;
  /** The seller of the tile's latest purchase (null: a worker of the buyer's own daemon). */
  seller: string | null;
}

/** Renders the frames; resolves when every frame is written or given up on (or the render is cancelled). */
export async function renderScene(options: RenderOptions): Promise<RenderSummary> {
  const named = parseBlenderArticle(options.article);
  if (named === undefined) throw new RenderError(`${options.article} is not a Blender article (net.bitwrk/blender/VERSION/cycles/CLASS)`);
  let article = named;
  const now = options.now ?? (() => performance.now());
  // Ends the render when the caller cancels or a purchase is refused outright (then no tile can be bought).
  const refused = new AbortController();
  const signal = AbortSignal.any([options.signal, refused.signal]);
  await mkdir(options.outputDir, { recursive: true });
  const packed = await packScene(options.blender, options.scene, { autoexec: options.autoexec, signal, ...(options.tmpRoot === undefined ? {} : { tmpRoot: options.tmpRoot }) });
  const tilesDir = join(packed.dir, 'tiles');
  try {
    const { facts } = packed;
    const frameList = options.frames.length > 0 ? options.frames : [facts.frameCurrent];
    for (const warning of facts.warnings) options.report({ type: 'warning', message: warning });
    if (facts.osl && !article.osl) {
      const oslArticle = blenderArticleId(article.version, article.costClass, true);
      // A seller without OSL would refuse every tile; the -osl articles are served only by sellers with it.
      if (options.articleGiven === true) throw new RenderError(`the scene uses Open Shading Language, which ${article.articleId} does not promise: buy ${oslArticle}`);
      options.report({ type: 'warning', message: `the scene uses Open Shading Language: buying ${oslArticle}, which only sellers with OSL serve` });
      article = parseBlenderArticle(oslArticle)!;
    }
    if (facts.blender !== article.version) options.report({ type: 'warning', message: `the scene is packed with Blender ${facts.blender} and rendered by sellers of ${article.version}; results may differ` });
    if (facts.viewLayers > 1) options.report({ type: 'warning', message: `${facts.viewLayers} view layers: tiles come back as multilayer EXR and only the first layer's Combined pass is stitched` });
    const overscan = options.overscan ?? (facts.adaptiveSampling ? ADAPTIVE_OVERSCAN_PX : 0);
    const plan = planTiles(facts, { maxRays: article.maxRays, overscan, minTiles: options.minTiles ?? options.concurrency, overheadRays: TILE_OVERHEAD_RAYS, ...(options.grid === undefined ? {} : { grid: options.grid }) });
    options.report({ type: 'packed', packed, plan });
    const payload = await readPayload(packed);
    const resources = facts.resources.map(({ name, size }) => ({ name, size }));
    await mkdir(tilesDir, { recursive: true });

    /** Per frame: its tiles that arrived (with their trade), what they cost, and how it ended. */
    const frames = new Map<number, { done: Map<TileTask, string>; sats: number; purchases: number; jobBytes: number; bytesSent: number; summary?: FrameSummary }>();
    const queue: TileTask[] = [];
    for (const frame of frameList) {
      frames.set(frame, { done: new Map(), sats: 0, purchases: 0, jobBytes: 0, bytesSent: 0 });
      for (const tile of plan.tiles) queue.push({ frame, tile, path: join(tilesDir, `${frame}-${tile.column}-${tile.row}.exr`), attempts: 0, avoid: new Set(), seller: null });
    }
    const tilesTotal = queue.length;
    let tilesDone = 0;
    let satsSpent = 0;
    const started = now();
    const openTrades = new Set<string>();
    const progress = (): void => {
      const elapsed = now() - started;
      const framesDone = [...frames.values()].filter((entry) => entry.summary !== undefined).length;
      options.report({ type: 'progress', tilesDone, tilesTotal, satsSpent, etaMs: tilesDone === 0 ? null : (elapsed / tilesDone) * (tilesTotal - tilesDone), framesDone, framesTotal: frames.size });
    };
    const cancelAll = (): void => {
      for (const tradeId of openTrades) void options.api.cancel(tradeId).catch(() => undefined);
    };
    signal.addEventListener('abort', cancelAll);

    /** One purchase of one tile: its image's path, or why it failed. */
    const buyTile = async (task: TileTask): Promise<{ ok: true; tradeId: string } | { ok: false; message: string }> => {
      const header = encodeJobHeader({ frame: task.frame, width: facts.width, height: facts.height, rendered: task.tile.rendered, resources, blendSize: packed.blendSize });
      const entry = frames.get(task.frame)!;
      task.attempts++;
      entry.purchases++;
      const avoid = [...task.avoid].slice(-AVOID_SELLERS_MAX);
      const tradeId = await options.api.buy(article.articleId, [header, ...payload], { ...(options.maxPriceSats === undefined ? {} : { priceSats: options.maxPriceSats }), avoid, signal });
      openTrades.add(tradeId);
      options.report({ type: 'tile', frame: task.frame, tile: task.tile, tradeId, state: 'bought' });
      try {
        for (;;) {
          const result = await options.api.result(tradeId, RESULT_POLL_SECONDS, signal);
          if (result.kind === 'pending') continue;
          const trade = result.kind === 'done' ? await options.api.trade(tradeId).catch(() => null) : result.trade;
          const sats = paid(trade);
          entry.sats += sats;
          entry.jobBytes += trade?.workSent?.bytes ?? 0;
          entry.bytesSent += trade?.workSent?.bytesSent ?? 0;
          satsSpent += sats;
          if (result.kind === 'failed') {
            // The daemon tried other sellers within its own attempts; the next purchase skips them all.
            for (const seller of [...(result.trade?.avoid ?? []), result.trade?.seller ?? null]) if (seller !== null) task.avoid.add(seller);
            options.report({ type: 'tile', frame: task.frame, tile: task.tile, tradeId, state: 'failed', message: result.message, sats });
            return { ok: false, message: result.message };
          }
          task.seller = result.seller;
          await writeFile(task.path, result.bytes);
          options.report({ type: 'tile', frame: task.frame, tile: task.tile, tradeId, state: 'done', sats, path: task.path });
          return { ok: true, tradeId };
        }
      } finally {
        openTrades.delete(tradeId);
      }
    };

    const stitchWarnings = new Set<string>(); // each said once, not once per frame
    const finishFrame = async (frame: number): Promise<void> => {
      const entry = frames.get(frame)!;
      const tasks = [...entry.done.keys()];
      const name = String(frame).padStart(4, '0');
      // The frame as rendered (float EXR) and, in the scene's format, as the compositor makes it;
      // an EXR scene without compositing needs only the first.
      const isExr = facts.outputFormat === 'OPEN_EXR' || facts.outputFormat === 'OPEN_EXR_MULTILAYER';
      const exr = join(options.outputDir, isExr && facts.compositing ? `${name}.combined.exr` : `${name}.exr`);
      const output = isExr && !facts.compositing ? undefined : join(options.outputDir, `${name}${facts.outputExtension}`);
      const stitchJob = join(packed.dir, `stitch-${frame}.json`);
      const status = join(packed.dir, `stitch-${frame}.status.json`);
      await writeFile(stitchJob, JSON.stringify({ width: facts.width, height: facts.height, tiles: tasks.map((task) => ({ path: task.path, rendered: task.tile.rendered, tile: task.tile.tile })), frame, composite: facts.compositing, exr, ...(output === undefined ? {} : { output }), status }));
      const stitchStart = now();
      const outcome = await runBlender({ blender: options.blender, file: packed.blendPath, script: scriptPath('stitch.py'), scriptArgs: [stitchJob], autoexec: false, timeoutMs: 10 * 60_000, signal });
      const checked = stitchStatus.safeParse(await readFile(status, 'utf8').then(JSON.parse, () => undefined));
      if (!checked.success) throw new RenderError(`stitching frame ${frame} failed (Blender exit ${outcome.code ?? outcome.signal}): ${outcome.tail.split('\n').slice(-3).join(' | ')}`);
      if (!checked.data.ok) {
        // A tile that is not the image that was ordered is bought again (within its retries).
        for (const problem of checked.data.problems) {
          const task = tasks.find((candidate) => candidate.path === problem.path)!;
          const tradeId = entry.done.get(task) ?? null;
          entry.done.delete(task);
          if (task.seller !== null) task.avoid.add(task.seller);
          tilesDone--;
          options.report({ type: 'tile', frame, tile: task.tile, tradeId, state: 'failed', message: problem.error });
          if (task.attempts > options.retries) {
            entry.summary = { frame, ok: false, paths: [], satsSpent: entry.sats, purchases: entry.purchases, jobBytes: entry.jobBytes, bytesSent: entry.bytesSent, error: `tile ${task.tile.column},${task.tile.row}: ${problem.error}` };
            options.report({ type: 'frame', frame, ok: false, paths: [], message: entry.summary.error!, summary: entry.summary });
            return;
          }
          queue.unshift(task);
        }
        return;
      }
      for (const warning of checked.data.warnings) {
        if (stitchWarnings.has(warning)) continue;
        stitchWarnings.add(warning);
        options.report({ type: 'warning', message: warning });
      }
      if (!options.keepTiles) await Promise.all(tasks.map((task) => rm(task.path, { force: true })));
      const paths = output === undefined ? [exr] : [output, exr];
      entry.summary = { frame, ok: true, paths, satsSpent: entry.sats, purchases: entry.purchases, jobBytes: entry.jobBytes, bytesSent: entry.bytesSent };
      options.report({ type: 'frame', frame, ok: true, paths, stitchMs: now() - stitchStart, summary: entry.summary });
    };

    const runner = async (): Promise<void> => {
      for (let task = queue.shift(); task !== undefined && !signal.aborted; task = queue.shift()) {
        const entry = frames.get(task.frame)!;
        if (entry.summary !== undefined) continue; // the frame was given up on
        let outcome: { ok: true; tradeId: string } | { ok: false; message: string };
        try {
          outcome = await buyTile(task);
        } catch (error) {
          if (signal.aborted) return;
          outcome = { ok: false, message: (error as Error).message };
          // The daemon refused the purchase itself (a wrong token, no permission, unknown article): no retry helps.
          if ((error as { status?: number }).status !== undefined && [400, 401, 402, 403, 404, 413].includes((error as { status: number }).status)) {
            refused.abort(error);
            throw error;
          }
        }
        if (!outcome.ok) {
          if (task.attempts <= options.retries) queue.push(task);
          else if (entry.summary === undefined) {
            entry.summary = { frame: task.frame, ok: false, paths: [], satsSpent: entry.sats, purchases: entry.purchases, jobBytes: entry.jobBytes, bytesSent: entry.bytesSent, error: `tile ${task.tile.column},${task.tile.row} failed ${task.attempts} times; last: ${outcome.message}` };
            options.report({ type: 'frame', frame: task.frame, ok: false, paths: [], message: entry.summary.error!, summary: entry.summary });
          }
          progress();
          continue;
        }
        entry.done.set(task, outcome.tradeId);
        tilesDone++;
        progress();
        if (entry.done.size === plan.tiles.length) await finishFrame(task.frame);
      }
    };
    try {
      progress();
      // A runner stops when the queue is empty; a failure or a bad tile may queue work again
      // after some runners stopped, so they start again until nothing is left.
      do {
        await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, runner));
      } while (queue.length > 0 && !signal.aborted);
    } finally {
      signal.removeEventListener('abort', cancelAll);
      if (signal.aborted) cancelAll();
    }
    const summaries = frameList.map((frame) => frames.get(frame)!.summary ?? { frame, ok: false, paths: [], satsSpent: frames.get(frame)!.sats, purchases: frames.get(frame)!.purchases, jobBytes: frames.get(frame)!.jobBytes, bytesSent: frames.get(frame)!.bytesSent, error: 'cancelled' });
    return { frames: summaries, satsSpent, cancelled: options.signal.aborted, plan };
  } finally {
    if (!options.keepTiles) await rm(packed.dir, { recursive: true, force: true });
  }
}

/** What the buyer paid for a trade: its price and fee once matched, else nothing. */
function paid(trade: TradeView | null): number {
  return trade?.deal === null || trade?.deal === undefined ? 0 : trade.deal.priceSats + trade.deal.feeSats;
}
