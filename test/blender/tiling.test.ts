// Goal: every plan covers the frame exactly once with whole-pixel tiles, each rendered rectangle
// holds its tile and stays inside the frame, no tile costs more than the article allows, a plan
// has the tiles asked for where the frame has pixels enough, and the cheapest plan is chosen.
// Method: fast-check over frame sizes, samples, bounces, classes and overscan; one example pins
// the original's edges (floor(W·i/U)).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { edges, planTiles, raysPerPixel, TilingError, type SceneCost } from '../../src/blender/tiling.js';

const scenes = fc.record({
  width: fc.integer({ min: 1, max: 700 }),
  height: fc.integer({ min: 1, max: 500 }),
  samples: fc.integer({ min: 1, max: 256 }),
  maxBounces: fc.integer({ min: 0, max: 12 }),
  viewLayers: fc.integer({ min: 1, max: 3 }),
});

test('plans cover the frame once, fit the class and keep rendered rectangles inside the frame', () => {
  fc.assert(
    fc.property(scenes, fc.integer({ min: 1, max: 2 ** 26 }), fc.integer({ min: 0, max: 16 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 2 ** 24 }), (scene, maxRays, overscan, minTiles, overheadRays) => {
      let plan;
      try {
        plan = planTiles(scene, { maxRays, overscan, minTiles, overheadRays });
      } catch (error) {
        assert.ok(error instanceof TilingError);
        // Refused only when even tiles of one pixel (and their overscan) cost too much.
        assert.ok((1 + 2 * overscan) ** 2 * raysPerPixel(scene) > maxRays || raysPerPixel(scene) > maxRays, `refused: ${(error as Error).message}`);
        return;
      }
      const covered = new Uint8Array(scene.width * scene.height);
      for (const { tile, rendered, rays } of plan.tiles) {
        assert.ok(Number.isInteger(tile.x) && Number.isInteger(tile.y) && tile.width >= 1 && tile.height >= 1);
        assert.ok(rendered.x <= tile.x && rendered.y <= tile.y && rendered.x + rendered.width >= tile.x + tile.width && rendered.y + rendered.height >= tile.y + tile.height);
        assert.ok(rendered.x >= 0 && rendered.y >= 0 && rendered.x + rendered.width <= scene.width && rendered.y + rendered.height <= scene.height);
        assert.ok(rays <= maxRays, `a tile costs ${rays} of ${maxRays}`);
        assert.equal(rays, rendered.width * rendered.height * raysPerPixel(scene));
        for (let y = tile.y; y < tile.y + tile.height; y++) for (let x = tile.x; x < tile.x + tile.width; x++) covered[y * scene.width + x]! += 1;
      }
      assert.ok(covered.every((count) => count === 1), 'every pixel in exactly one tile');
      assert.ok(plan.tiles.length >= Math.min(minTiles, scene.width * scene.height) || plan.columns === scene.width || plan.rows === scene.height);
      assert.equal(plan.tiles.length, plan.columns * plan.rows);
    }),
    { numRuns: 300, seed: 21 },
  );
});

test('no other grid with as many tiles or more is cheaper (rays rendered plus overhead)', () => {
  fc.assert(
    fc.property(fc.record({ width: fc.integer({ min: 1, max: 60 }), height: fc.integer({ min: 1, max: 40 }), samples: fc.integer({ min: 1, max: 8 }), maxBounces: fc.integer({ min: 1, max: 4 }), viewLayers: fc.constant(1) }), fc.integer({ min: 64, max: 20_000 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5_000 }), (scene, maxRays, overscan, minTiles, overheadRays) => {
      let plan;
      try {
        plan = planTiles(scene, { maxRays, overscan, minTiles, overheadRays });
      } catch {
        return;
      }
      const cost = (p: { tiles: readonly { rays: number }[] }) => p.tiles.reduce((sum, tile) => sum + tile.rays, 0) + p.tiles.length * overheadRays;
      const best = cost(plan);
      for (let columns = 1; columns <= scene.width; columns++) {
        for (let rows = 1; rows <= scene.height; rows++) {
          if (columns * rows < Math.min(minTiles, scene.width * scene.height)) continue;
          let other;
          try {
            other = planTiles(scene, { maxRays, overscan, minTiles, overheadRays, grid: { columns, rows } });
          } catch {
            continue;
          }
          assert.ok(cost(other) >= best, `${columns} x ${rows} costs ${cost(other)}, the plan ${plan.columns} x ${plan.rows} ${best}`);
        }
      }
    }),
    { numRuns: 60, seed: 1995617029, examples: [
      // Found by CI: 1 x 9 rows does not fit but 1 x 8 does, and the planner took 1 x 10.
      [{ width: 2, height: 11, samples: 4, maxBounces: 1, viewLayers: 1 }, 72, 4, 1, 0],
    ] },
  );
});

test('edges are the original\'s floor(W·i/U); a forced grid that does not fit is refused with the reason', () => {
  assert.deepEqual(edges(350, 3), [0, 116, 233, 350]);
  assert.deepEqual(edges(194, 3), [0, 64, 129, 194]);
  const scene: SceneCost = { width: 1920, height: 1080, samples: 128, maxBounces: 12, viewLayers: 1 };
  assert.throws(() => planTiles(scene, { maxRays: 512 * 2 ** 20, overscan: 0, minTiles: 1, overheadRays: 0, grid: { columns: 2, rows: 2 } }), /costs more than the article/);
  const plan = planTiles(scene, { maxRays: 512 * 2 ** 20, overscan: 0, minTiles: 1, overheadRays: 32 * 2 ** 20 });
  assert.ok(plan.tiles.every((tile) => tile.rays <= 512 * 2 ** 20));
  // Nearest the centre first.
  const centre = plan.tiles[0]!.tile;
  assert.ok(Math.abs(centre.x + centre.width / 2 - 960) <= centre.width && Math.abs(centre.y + centre.height / 2 - 540) <= centre.height);
});
