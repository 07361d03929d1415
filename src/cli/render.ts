// `bitwrk render SCENE.blend`: renders a Blender scene through the market, tile by tile, with the
// buyer's daemon (its local API and token). Progress goes to stderr: a bar on a terminal, plain
// lines otherwise. Ctrl-C cancels the purchases still open.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { blenderPath, blenderVersion } from '../blender/blender.js';
import { renderScene, type RenderEvent } from '../blender/render.js';
import { LocalApiClient } from '../daemon/local-client.js';
import { BLENDER_COST_CLASSES, blenderArticleId, isBlenderCostClass, parseBlenderArticle } from '../market/blender-articles.js';
import { MONEY_SATS_MAX } from '../market/limits.js';
import { integerFlag, parseFlags, UsageError, type Command } from './command.js';
import { bitwrkHome } from './paths.js';
import { DEFAULT_DAEMON_URL, readToken } from './worker.js';

/** "1-24", "1,3,5-7", "12" → frame numbers (in order, each once). */
export function parseFrames(text: string): number[] {
  const frames = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?$/.exec(part);
    if (match === null) throw new UsageError(`--frames expects frames like 1-24 or 1,3,5-7, got "${text}"`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new UsageError(`--frames: ${part.trim()} ends before it starts`);
    if (last - first >= 100_000) throw new UsageError(`--frames: ${part.trim()} is more than 100,000 frames`);
    for (let frame = first; frame <= last; frame++) frames.add(frame);
  }
  return [...frames];
}

/** "3x2" → 3 columns, 2 rows. */
function parseGrid(text: string): { columns: number; rows: number } {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(text);
  if (match === null) throw new UsageError(`--grid expects COLUMNSxROWS, e.g. 3x2, got "${text}"`);
  return { columns: Number(match[1]), rows: Number(match[2]) };
}

export const renderCommand: Command = {
  name: 'render',
  summary: 'render a Blender scene through the market (tiles bought through your daemon)',
  usage: `usage: bitwrk render SCENE.blend [options]

Packs the scene (a copy: your file is not changed), splits each frame into tiles that fit the
article's cost class, buys every tile through your daemon, stitches the frames and writes them
to the output folder as NNNN.exr (32-bit float) and, when the scene's output format is another
one, also NNNN.<ext> in that format. Needs a running daemon (\`bitwrk daemon\`) with funds or a
buy mandate, and Blender on this machine (docs/blender.md).

options:
  --frames LIST    frames to render, e.g. 1-24 or 1,3,5-7 (default: the scene's current frame)
  --output DIR     where frames are written (default ./render)
  --cost CLASS     the article's cost class: ${Object.keys(BLENDER_COST_CLASSES).join(', ')} rays per tile (default 512M)
  --article ID     the article instead (net.bitwrk/blender/VERSION/cycles/CLASS, or cycles-osl
                   for scenes with Open Shading Language); default from your Blender's version,
                   --cost and the scene (an OSL scene buys the cycles-osl article)
  --max-price SAT  the most to pay for one tile (default: what your buy mandate allows)
  --concurrency N  tiles bought at once (default 4)
  --retries N      purchases of a failed tile after the first (default 2)
  --tiles N        at least N tiles per frame (default: the concurrency)
  --grid CxR       exactly C columns and R rows of tiles
  --overscan PX    pixels rendered beyond each inner tile edge (default 0, or 8 with adaptive sampling)
  --autoexec       run the scene's scripts while packing (Python drivers are then frozen at their
                   evaluated values); off by default, as in Blender
  --keep           keep the packed scene and the tiles (their folder is printed)
  --json           print the summary as JSON on stdout (frames, paths, sat, bytes sent)
  --events         print every event as one JSON line on stdout as it happens (packed, warning,
                   tile, progress, frame; a tile that is done names its EXR file), then the summary
                   as {"type":"summary",...}: for programs such as the Blender add-on
  --blender PATH   the Blender to pack and stitch with (default $BITWRK_BLENDER, else blender)
  --daemon URL     your daemon's local API (default ${DEFAULT_DAEMON_URL})
  --token TOKEN    its API token (default $BITWRK_API_TOKEN, else DAEMON-DIR/api-token)
  --daemon-dir DIR the daemon's data directory (default ${join(bitwrkHome(), 'daemon')})

exit status: 0 when every frame was written, 1 when some frame could not be completed, 130
when cancelled (Ctrl-C: open purchases are cancelled), 2 for a usage error.`,
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        frames: { type: 'string' }, output: { type: 'string' }, cost: { type: 'string' }, article: { type: 'string' }, 'max-price': { type: 'string' },
        concurrency: { type: 'string' }, retries: { type: 'string' }, tiles: { type: 'string' }, grid: { type: 'string' }, overscan: { type: 'string' },
        autoexec: { type: 'boolean' }, keep: { type: 'boolean' }, json: { type: 'boolean' }, events: { type: 'boolean' }, blender: { type: 'string' }, daemon: { type: 'string' }, token: { type: 'string' }, 'daemon-dir': { type: 'string' },
      },
      1,
    );
    const scene = positionals[0];
    if (scene === undefined) throw new UsageError('name the scene to render: bitwrk render SCENE.blend');
    if (!existsSync(scene)) throw new UsageError(`${scene} does not exist`);
    if (values.cost !== undefined && values.article !== undefined) throw new UsageError('give --cost or --article, not both');
    if (values.json === true && values.events === true) throw new UsageError('give --json or --events, not both');
    const blender = blenderPath(values.blender);
    const version = blenderVersion(blender);
    if ('error' in version) throw new UsageError(version.error);
    let article = values.article;
    if (article === undefined) {
      const cost = values.cost ?? '512M';
      if (!isBlenderCostClass(cost)) throw new UsageError(`--cost must be one of ${Object.keys(BLENDER_COST_CLASSES).join(', ')}, got "${cost}"`);
      article = blenderArticleId(version.majorMinor, cost);
    } else if (parseBlenderArticle(article) === undefined) {
      throw new UsageError(`--article expects net.bitwrk/blender/VERSION/cycles/CLASS, got "${article}"`);
    }
    const concurrency = integerFlag(values.concurrency, 'concurrency', 4, { min: 1, max: 256 });
    const maxPrice = values['max-price'] === undefined ? undefined : integerFlag(values['max-price'], 'max-price', 0, { min: 0, max: MONEY_SATS_MAX });
    const frames = values.frames === undefined ? [] : parseFrames(values.frames);
    const retries = integerFlag(values.retries, 'retries', 2, { min: 0, max: 100 });
    const minTiles = values.tiles === undefined ? undefined : integerFlag(values.tiles, 'tiles', 1, { min: 1, max: 100_000 });
    const grid = values.grid === undefined ? undefined : parseGrid(values.grid);
    const overscan = values.overscan === undefined ? undefined : integerFlag(values.overscan, 'overscan', 0, { min: 0, max: 1024 });
    const daemonUrl = (values.daemon ?? DEFAULT_DAEMON_URL).replace(/\/+$/, '');
    if (!/^https?:\/\/[^\s/]+/.test(daemonUrl)) throw new UsageError(`--daemon expects an http:// URL, got "${daemonUrl}"`);
    const token = values.token ?? process.env['BITWRK_API_TOKEN'] ?? readToken(values['daemon-dir'] ?? join(bitwrkHome(), 'daemon'));
    const api = new LocalApiClient(daemonUrl, token);
    // Before packing (which takes a while): is the daemon there, and does it know the article?
    await api.article(article);
    const cancel = new AbortController();
    const onSignal = (): void => {
      if (cancel.signal.aborted) process.exit(130); // a second Ctrl-C does not wait
      process.stderr.write('\ncancelling: open purchases are cancelled (Ctrl-C again to quit at once)\n');
      cancel.abort(new Error('cancelled'));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const printer = progressPrinter(process.stderr);
    // With --events a program reads stdout, one JSON line per event; people still see stderr.
    const show = values.events !== true ? printer : Object.assign((event: RenderEvent) => {
      printer(event);
      process.stdout.write(`${JSON.stringify(eventJson(event))}\n`);
    }, { end: printer.end });
    try {
      const summary = await renderScene({
        scene: resolve(scene),
        frames,
        outputDir: resolve(values.output ?? 'render'),
        article,
        articleGiven: values.article !== undefined,
        ...(maxPrice === undefined ? {} : { maxPriceSats: maxPrice }),
        concurrency,
        retries,
        ...(minTiles === undefined ? {} : { minTiles }),
        ...(grid === undefined ? {} : { grid }),
        ...(overscan === undefined ? {} : { overscan }),
        autoexec: values.autoexec === true,
        keepTiles: values.keep === true,
        blender,
        api,
        signal: cancel.signal,
        report: show,
      });
      show.end();
      const failed = summary.frames.filter((frame) => !frame.ok).length;
      const result = { frames: summary.frames, satsSpent: summary.satsSpent, cancelled: summary.cancelled, grid: { columns: summary.plan.columns, rows: summary.plan.rows }, overscan: summary.plan.overscan };
      if (values.events === true) {
        console.log(JSON.stringify({ type: 'summary', ...result }));
      } else if (values.json === true) {
        console.log(JSON.stringify(result));
      } else {
        for (const frame of summary.frames) {
          console.log(frame.ok ? `frame ${frame.frame}: ${frame.paths.join(', ')} (${frame.purchases} purchases, ${frame.satsSpent} sat, ${formatBytes(frame.bytesSent)} sent of ${formatBytes(frame.jobBytes)} of jobs)` : `frame ${frame.frame}: not completed: ${frame.error}`);
        }
        console.log(`${summary.frames.length - failed} of ${summary.frames.length} frame(s) written, ${summary.satsSpent} sat spent, ${summary.plan.tiles.length} tiles per frame (${summary.plan.columns} x ${summary.plan.rows})`);
      }
      if (summary.cancelled) return 130;
      return failed === 0 ? 0 : 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

/** An event as its JSON line: the packed scene by its folder and facts, not its whole record. */
function eventJson(event: RenderEvent): unknown {
  if (event.type !== 'packed') return event;
  const { facts } = event.packed;
  return {
    type: 'packed', dir: event.packed.dir, payloadBytes: event.packed.payloadBytes,
    width: facts.width, height: facts.height, samples: facts.samples, frameStart: facts.frameStart, frameEnd: facts.frameEnd, frameCurrent: facts.frameCurrent,
    columns: event.plan.columns, rows: event.plan.rows, overscan: event.plan.overscan, tiles: event.plan.tiles,
  };
}

/** Prints render events: a bar redrawn in place on a terminal, one line per event otherwise. */
function progressPrinter(stream: NodeJS.WriteStream): ((event: RenderEvent) => void) & { end(): void } {
  const terminal = stream.isTTY === true;
  let barShown = false;
  const line = (text: string): void => {
    if (barShown) stream.write('\r\x1b[K');
    barShown = false;
    stream.write(`${text}\n`);
  };
  const print = (event: RenderEvent): void => {
    switch (event.type) {
      case 'warning':
        return line(`warning: ${event.message}`);
      case 'packed': {
        const { facts } = event.packed;
        line(`packed: ${facts.width} x ${facts.height} px, ${facts.samples} samples, ${facts.resources.length} resource file(s), ${(event.packed.payloadBytes / 2 ** 20).toFixed(1)} MiB per job; ${event.plan.tiles.length} tiles (${event.plan.columns} x ${event.plan.rows}, overscan ${event.plan.overscan} px)${event.packed.dir === '' ? '' : `; folder ${event.packed.dir}`}`);
        return;
      }
      case 'tile':
        if (event.state === 'failed') line(`frame ${event.frame} tile ${event.tile.column},${event.tile.row}: failed: ${event.message ?? ''}`);
        else if (!terminal) line(`frame ${event.frame} tile ${event.tile.column},${event.tile.row}: ${event.state}${event.tradeId === null ? '' : ` (trade ${event.tradeId})`}${event.sats === undefined ? '' : `, ${event.sats} sat`}`);
        return;
      case 'frame':
        return line(event.ok ? `frame ${event.frame} written: ${event.paths.join(', ')}` : `frame ${event.frame} not completed: ${event.message ?? ''}`);
      case 'progress': {
        const eta = event.etaMs === null ? '' : `, ETA ${Math.ceil(event.etaMs / 1000)} s`;
        const text = `${event.tilesDone}/${event.tilesTotal} tiles, ${event.framesDone}/${event.framesTotal} frames, ${event.satsSpent} sat${eta}`;
        if (!terminal) return line(text);
        const width = 30;
        const filled = event.tilesTotal === 0 ? width : Math.round((event.tilesDone / event.tilesTotal) * width);
        stream.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
        barShown = true;
        return;
      }
    }
  };
  return Object.assign(print, { end: () => barShown && void stream.write('\n') });
}

function formatBytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
