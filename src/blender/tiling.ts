// Splitting a frame into tiles that each fit an article's cost class. A tile is a rectangle of
// whole pixels (y = 0 at the bottom, as Blender counts); the rectangle a seller renders is the
// tile grown by the overscan on each side that is not the frame's edge (adaptive sampling couples
// neighbouring pixels, so a tile rendered alone differs at its edges unless it is rendered wider
// and cropped). Column i starts at floor(W·i/U) and row j at floor(H·j/V), as the original did.

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** What a frame costs per pixel, from the scene (pack.json). */
export interface SceneCost {
  readonly width: number;
  readonly height: number;
  readonly samples: number;
  readonly maxBounces: number;
  readonly viewLayers: number;
}

export interface PlannedTile {
  /** Position in the grid: column from the left, row from the bottom. */
  readonly column: number;
  readonly row: number;
  /** The part of the frame this tile contributes. */
  readonly tile: Rect;
  /** What the seller renders: the tile and its overscan, inside the frame. */
  readonly rendered: Rect;
  readonly rays: number;
}

export interface TilePlan {
  readonly columns: number;
  readonly rows: number;
  readonly overscan: number;
  /** Tiles in the order to dispatch them: nearest the frame's centre first. */
  readonly tiles: readonly PlannedTile[];
  /** Rays of all rendered rectangles together (overscan is rendered twice). */
  readonly rays: number;
}

export interface PlanOptions {
  /** The article's bound on one tile's rays. */
  readonly maxRays: number;
  /** Pixels added on each inner side (0 without adaptive sampling). */
  readonly overscan: number;
  /** At least this many tiles (to keep that many sellers busy), where the frame has pixels enough. */
  readonly minTiles: number;
  /**
   * What starting one tile costs, in rays of rendering it saves (Blender's start-up, loading and
   * syncing the scene: about 0.85 s a tile). The planner weighs it against the overscan's rays.
   */
  readonly overheadRays: number;
  /** Use exactly this grid (columns x rows); it must still fit the class. */
  readonly grid?: { readonly columns: number; readonly rows: number };
}

export function raysPerPixel(scene: SceneCost): number {
  return Math.max(1, scene.samples) * Math.max(1, scene.maxBounces) * Math.max(1, scene.viewLayers);
}

/** Edges of `count` equal parts of `size` pixels: floor(size·i/count) for i = 0..count. */
export function edges(size: number, count: number): number[] {
  return Array.from({ length: count + 1 }, (_, i) => Math.floor((size * i) / count));
}

/** The part [start, end) grown by `overscan` on each side, inside [0, size). */
function grown(start: number, end: number, overscan: number, size: number): readonly [number, number] {
  return [Math.max(0, start - overscan), Math.min(size, end + overscan)];
}

/**
 * The widest rendered span of `count` parts of `size` (inner parts grow on both sides) and the
 * spans together. The edges are edges()'s, computed in place: planTiles calls this size²/2 times.
 */
function spans(size: number, count: number, overscan: number): { readonly widest: number; readonly sum: number } {
  let widest = 0;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const [start, end] = grown(Math.floor((size * i) / count), Math.floor((size * (i + 1)) / count), overscan, size);
    widest = Math.max(widest, end - start);
    sum += end - start;
  }
  return { widest, sum };
}

/** spans() of `size` for every count from 1 to `size` (index = count). */
function spanTable(size: number, overscan: number): { readonly widest: Int32Array; readonly sum: Float64Array } {
  const widest = new Int32Array(size + 1);
  const sum = new Float64Array(size + 1);
  for (let count = 1; count <= size; count++) {
    const span = spans(size, count, overscan);
    widest[count] = span.widest;
    sum[count] = span.sum;
  }
  return { widest, sum };
}

export class TilingError extends Error {
  override name = 'TilingError';
}

/** The grid's tiles, nearest the centre first. */
export function tilesOf(scene: SceneCost, columns: number, rows: number, overscan: number): PlannedTile[] {
  const xs = edges(scene.width, columns);
  const ys = edges(scene.height, rows);
  const perPixel = raysPerPixel(scene);
  const tiles: PlannedTile[] = [];
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const tile = { x: xs[column]!, y: ys[row]!, width: xs[column + 1]! - xs[column]!, height: ys[row + 1]! - ys[row]! };
      const [x0, x1] = grown(tile.x, tile.x + tile.width, overscan, scene.width);
      const [y0, y1] = grown(tile.y, tile.y + tile.height, overscan, scene.height);
      const rendered = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
      tiles.push({ column, row, tile, rendered, rays: rendered.width * rendered.height * perPixel });
    }
  }
  const centre = (rect: Rect, size: number, along: 'x' | 'y'): number => Math.abs(rect[along] + (along === 'x' ? rect.width : rect.height) / 2 - size / 2);
  return tiles.sort((a, b) => centre(a.tile, scene.width, 'x') + centre(a.tile, scene.height, 'y') - (centre(b.tile, scene.width, 'x') + centre(b.tile, scene.height, 'y')) || a.row - b.row || a.column - b.column);
}

/**
 * The grid that fits every tile into `maxRays` with at least `minTiles` tiles (where the frame
 * has that many pixels) at the least total cost: rays rendered (overscan counts) plus the
 * per-tile overhead. Throws a TilingError when not even one-pixel-wide tiles fit.
 */
export function planTiles(scene: SceneCost, options: PlanOptions): TilePlan {
  const { width, height } = scene;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) throw new TilingError(`the frame is ${width} x ${height} pixels`);
  const perPixel = raysPerPixel(scene);
  const fits = (columns: number, rows: number): boolean => spans(width, columns, options.overscan).widest * spans(height, rows, options.overscan).widest * perPixel <= options.maxRays;
  const plan = (columns: number, rows: number): TilePlan => {
    const tiles = tilesOf(scene, columns, rows, options.overscan);
    return { columns, rows, overscan: options.overscan, tiles, rays: tiles.reduce((sum, tile) => sum + tile.rays, 0) };
  };
  if (options.grid !== undefined) {
    const { columns, rows } = options.grid;
    if (!Number.isSafeInteger(columns) || !Number.isSafeInteger(rows) || columns < 1 || rows < 1 || columns > width || rows > height) {
      throw new TilingError(`a ${columns} x ${rows} grid does not fit a ${width} x ${height} frame`);
    }
    if (!fits(columns, rows)) throw new TilingError(`with a ${columns} x ${rows} grid a tile costs more than the article's ${options.maxRays} rays; use more tiles or a larger cost class`);
    return plan(columns, rows);
  }
  if (perPixel > options.maxRays) throw new TilingError(`one pixel costs ${perPixel} rays (samples x bounces x view layers), more than the article's ${options.maxRays}`);
  const minTiles = Math.min(Math.max(1, options.minTiles), width * height);
  // Neither the widest span nor the sum of spans is monotone in the number of parts (floor edges
  // put the wider parts inside or at the border by turns), so every grid is weighed, from spans
  // tabulated once per axis: O(width·height) steps, a few milliseconds for a full-HD frame.
  const across = spanTable(width, options.overscan);
  const down = spanTable(height, options.overscan);
  let best: { columns: number; rows: number; cost: number } | undefined;
  for (let columns = 1; columns <= width; columns++) {
    const columnRays = across.widest[columns]! * perPixel;
    const columnCost = across.sum[columns]! * perPixel;
    for (let rows = Math.min(height, Math.max(1, Math.ceil(minTiles / columns))); rows <= height; rows++) {
      if (columnRays * down.widest[rows]! > options.maxRays) continue;
      const cost = columnCost * down.sum[rows]! + columns * rows * options.overheadRays;
      // Ties go to squarer tiles.
      if (best === undefined || cost < best.cost || (cost === best.cost && Math.abs(width / columns - height / rows) < Math.abs(width / best.columns - height / best.rows))) {
        best = { columns, rows, cost };
      }
    }
    // More columns mean at least that many tiles: stop once their overhead alone costs more.
    if (best !== undefined && options.overheadRays > 0 && (columns + 1) * options.overheadRays + width * height * perPixel > best.cost) break;
  }
  if (best === undefined) throw new TilingError(`no grid of a ${width} x ${height} frame fits tiles into ${options.maxRays} rays with overscan ${options.overscan}`);
  return plan(best.columns, best.rows);
}
