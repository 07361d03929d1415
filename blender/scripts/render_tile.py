# Renders one tile of a packed scene on a seller (run by `bitwrk worker blender`, never by hand):
#   blender -b --factory-startup -Y -noaudio scene.blend --python-exit-code 3 -P render_tile.py -- TILE.json
# TILE.json: {"frame", "width", "height", "rect": {"x", "y", "width", "height"}, "maxRays",
# "output", "status", "device", "threads"}; rect is in pixels, y = 0 at the bottom, and it is the
# rectangle to render (the tile with its overscan). The scene is a stranger's: Blender runs with
# autoexec off (-Y), and this script refuses what would still run code or cost more than paid for.
# It writes "status" as JSON ({"ok": true} or {"ok": false, "error"}) before it exits.
import json
import sys

import bpy

job = json.load(open(sys.argv[sys.argv.index('--') + 1]))


def finish(error=None):
    with open(job['status'], 'w') as out:
        json.dump({'ok': error is None, 'error': error, 'warnings': warnings}, out)
    if error is not None:
        print('BitWrk: refused: ' + error, file=sys.stderr)
        sys.exit(4)


warnings = []
scene = bpy.context.scene
render = scene.render
cycles = scene.cycles

# What would still run a scene's code with autoexec off, or reveal it has some.
if bpy.context.preferences.filepaths.use_scripts_auto_execute:
    finish('autoexec is on in this Blender; the worker runs Blender with -Y only')
for collection in ('objects', 'meshes', 'materials', 'shape_keys', 'scenes', 'worlds', 'lights', 'cameras', 'node_groups', 'armatures', 'curves'):
    for block in getattr(bpy.data, collection):
        animation = getattr(block, 'animation_data', None)
        for fcurve in (animation.drivers if animation is not None else ()):
            if fcurve.driver.type == 'SCRIPTED' and not fcurve.driver.is_simple_expression:
                finish('the scene has a Python driver expression (%s "%s": %s); packing freezes them' % (collection, block.name, fcurve.data_path))
if render.use_freestyle and any(layer.use and layer.freestyle_settings.mode == 'SCRIPT' for layer in scene.view_layers):
    finish('the scene uses Freestyle in Python script mode, which runs the scene\'s scripts')

import _cycles
if getattr(cycles, 'shading_system', False) and not getattr(_cycles, 'with_osl', False):
    finish('the scene uses Open Shading Language, which this Blender is built without')

scale = render.resolution_percentage / 100.0
width, height = int(render.resolution_x * scale), int(render.resolution_y * scale)
if (width, height) != (job['width'], job['height']):
    finish('the scene is %d x %d pixels, the job says %d x %d' % (width, height, job['width'], job['height']))
rect = job['rect']
if rect['x'] < 0 or rect['y'] < 0 or rect['width'] < 1 or rect['height'] < 1 or rect['x'] + rect['width'] > width or rect['y'] + rect['height'] > height:
    finish('the tile %r is not inside the %d x %d frame' % (rect, width, height))

# The cost, from the scene itself: pixels x samples x bounces x view layers.
layers = [layer for layer in scene.view_layers if layer.use]
if getattr(render, 'use_single_layer', False):
    layers = layers[:1]
rays = rect['width'] * rect['height'] * cycles.samples * max(1, cycles.max_bounces) * max(1, len(layers))
if rays > job['maxRays']:
    finish('the tile costs %d rays (%d x %d pixels x %d samples x %d bounces x %d view layers), more than the %d of the article' % (
        rays, rect['width'], rect['height'], cycles.samples, cycles.max_bounces, len(layers), job['maxRays']))

render.engine = 'CYCLES'
cycles.device = job.get('device', 'CPU')
if cycles.use_denoising:
    if not _cycles.with_openimagedenoise:
        warnings.append('denoising turned off: this Blender has no OpenImageDenoise')
    else:
        warnings.append('denoising turned off: a tile is denoised with the whole frame, not alone')
    cycles.use_denoising = False
# A border of whole pixels: Blender truncates border * size, so aim at pixel centres.
render.use_border = True
render.use_crop_to_border = True
render.border_min_x = (rect['x'] + 0.5) / width
render.border_max_x = (rect['x'] + rect['width'] + 0.5) / width
render.border_min_y = (rect['y'] + 0.5) / height
render.border_max_y = (rect['y'] + rect['height'] + 0.5) / height
if rect['x'] + rect['width'] == width:
    render.border_max_x = 1.0
if rect['y'] + rect['height'] == height:
    render.border_max_y = 1.0
# Lossless float output of the raw render; the buyer composites and colour-manages the whole frame.
render.use_compositing = False
render.use_sequencer = False
render.dither_intensity = 0
render.use_persistent_data = False
settings = render.image_settings
settings.file_format = 'OPEN_EXR_MULTILAYER' if len(layers) > 1 else 'OPEN_EXR'
settings.color_depth = '32'
settings.color_mode = 'RGBA'
settings.exr_codec = 'ZIP'
if job.get('threads'):
    render.threads_mode = 'FIXED'
    render.threads = job['threads']
render.filepath = job['output']
render.use_file_extension = False
scene.frame_set(job['frame'])
bpy.ops.render.render(write_still=True)
finish()
