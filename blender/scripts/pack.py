# Packs the open scene for rendering elsewhere (run inside Blender, on a copy of the buyer's file):
#   blender -b --factory-startup [-Y] SCENE.blend -P pack.py -- OUT_DIR
# OUT_DIR gets scene.blend (self-contained: linked data made local, every external file renamed to
# rsrc/<sha-256>.<ext> beside it, Python drivers frozen to their current values) and pack.json: the
# scene's facts for tiling and cost, the resources shipped, and warnings (what could not be packed
# and why). The buyer's own file is never written: Blender saves a copy into OUT_DIR.
import hashlib
import json
import os
import re
import shutil
import sys

import bpy

out_dir = os.path.abspath(sys.argv[sys.argv.index('--') + 1])
rsrc_dir = os.path.join(out_dir, 'rsrc')
os.makedirs(rsrc_dir, exist_ok=True)
warnings = []
resources = {}  # name in rsrc/ -> {"size", "source"}

# A file name kept inside the job (image sequences keep theirs); the worker accepts no other.
SAFE_FILE_NAME = re.compile(r'[A-Za-z0-9_][A-Za-z0-9._ -]{0,199}')

# Datablocks that name files outside the .blend.
RESOURCE_COLLECTIONS = ('images', 'sounds', 'fonts', 'movieclips', 'cache_files', 'volumes')


def label(block):
    return '%s "%s"' % (type(block).__name__.lower(), block.name)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as source:
        for part in iter(lambda: source.read(1 << 20), b''):
            digest.update(part)
    return digest.hexdigest()


def ship(path, keep_name=None):
    """Copies one file into rsrc/ under its content's name (or keep_name in a content-named folder)."""
    digest = sha256_of(path)
    extension = os.path.splitext(path)[1].lower()
    if not re.fullmatch(r'\.[a-z0-9]{1,8}', extension):
        extension = ''
    name = digest[:40] + extension
    target = os.path.join(rsrc_dir, name)
    if not os.path.exists(target):
        shutil.copyfile(path, target)
    resources[name] = {'size': os.path.getsize(target), 'source': path}
    return name


def sequence_files(path):
    """The files of an image sequence: the same name with another frame number."""
    folder, name = os.path.split(path)
    match = re.fullmatch(r'(.*?)(\d+)(\.[^.]*)?', name)
    if match is None:
        return [path]
    prefix, suffix = match.group(1), match.group(3) or ''
    pattern = re.compile(re.escape(prefix) + r'\d+' + re.escape(suffix))
    return sorted(os.path.join(folder, other) for other in os.listdir(folder) if pattern.fullmatch(other))


def source_path(block):
    """The absolute path a datablock reads, resolved against its library when it is linked."""
    if block.filepath == '':
        return None
    return os.path.normpath(bpy.path.abspath(block.filepath, library=block.library))


def needs_file(block):
    if getattr(block, 'packed_file', None) is not None:
        return False  # packed into the .blend already
    if isinstance(block, bpy.types.Image) and block.source not in ('FILE', 'SEQUENCE', 'MOVIE', 'TILED'):
        return False  # generated, viewer, render result
    if isinstance(block, bpy.types.VectorFont) and block.filepath == '<builtin>':
        return False
    return block.filepath != ''


# 1. Where each external file is, found before linked data is made local (a linked block's
#    relative path is relative to its library, not to this file).
sources = []  # (collection name, block name after make_local, absolute path)
for collection in RESOURCE_COLLECTIONS:
    for block in getattr(bpy.data, collection):
        if needs_file(block):
            sources.append((collection, block, source_path(block)))

# 2. Make linked data (and data linked indirectly through it) local, then drop the libraries.
local_of = {}
for _round in range(16):
    linked = [block for collection in dir(bpy.data) if isinstance(getattr(bpy.data, collection, None), bpy.types.bpy_prop_collection)
              for block in getattr(bpy.data, collection) if isinstance(block, bpy.types.ID) and block.library is not None]
    if not linked:
        break
    for block in linked:
        try:
            local = block.make_local()
            local_of[block.as_pointer()] = local if local is not None else block
        except Exception as error:  # noqa: BLE001 (reported, not fatal)
            warnings.append('could not make %s local: %s' % (label(block), error))
for library in list(bpy.data.libraries):
    users = [block for collection in ('objects', 'meshes', 'materials', 'node_groups', 'collections', 'images')
             for block in getattr(bpy.data, collection) if block.library == library]
    if users:
        warnings.append('library %s is still used by %d blocks and is not shipped' % (library.filepath, len(users)))
    else:
        bpy.data.libraries.remove(library)

# 3. Ship each external file under its content's name and point the block at it.
for collection, block, path in sources:
    block = local_of.get(block.as_pointer(), block) if block.library is not None else block
    if path is None or not os.path.exists(path):
        warnings.append('%s: file %s not found; Blender renders it without it (magenta for an image)' % (label(block), path))
        continue
    if isinstance(block, bpy.types.Image) and block.source == 'TILED':
        warnings.append('%s: UDIM tiles are not packed; it renders without them' % label(block))
        continue
    if isinstance(block, bpy.types.Image) and block.source == 'SEQUENCE':
        files = sequence_files(path)
        if not all(SAFE_FILE_NAME.fullmatch(os.path.basename(f)) for f in files):
            warnings.append('%s: an image sequence is packed only when its file names are letters, digits, . _ - and spaces; it renders without it' % label(block))
            continue
        folder = hashlib.sha256(''.join(sha256_of(f) + os.path.basename(f) for f in files).encode()).hexdigest()[:40]
        os.makedirs(os.path.join(rsrc_dir, folder), exist_ok=True)
        for f in files:
            target = os.path.join(rsrc_dir, folder, os.path.basename(f))
            shutil.copyfile(f, target)
            resources[folder + '/' + os.path.basename(f)] = {'size': os.path.getsize(target), 'source': f}
        block.filepath = '//rsrc/%s/%s' % (folder, os.path.basename(path))
    else:
        block.filepath = '//rsrc/' + ship(path)

# 4. Python drivers: frozen to the value they have now (a seller runs no Python of the scene).
depsgraph = bpy.context.evaluated_depsgraph_get()
frozen = 0
for collection in ('objects', 'meshes', 'materials', 'shape_keys', 'scenes', 'worlds', 'lights', 'cameras', 'node_groups', 'armatures', 'curves'):
    for block in getattr(bpy.data, collection):
        animation = getattr(block, 'animation_data', None)
        if animation is None:
            continue
        for fcurve in animation.drivers:
            driver = fcurve.driver
            if driver.type != 'SCRIPTED' or driver.is_simple_expression:
                continue
            try:
                value = block.evaluated_get(depsgraph).path_resolve(fcurve.data_path)
                if not isinstance(value, (int, float, bool)):
                    value = value[fcurve.array_index]
                driver.expression = repr(float(value))
                frozen += 1
            except Exception as error:  # noqa: BLE001
                warnings.append('%s: driver %s[%d] could not be frozen (%s); it was removed' % (label(block), fcurve.data_path, fcurve.array_index, error))
                animation.drivers.remove(fcurve)
if frozen and bpy.app.autoexec_fail:
    warnings.append('%d Python driver(s) frozen at their saved values: scripts were not run while packing (pass --autoexec to run them)' % frozen)
elif frozen:
    warnings.append('%d Python driver(s) frozen at their values on frame %d' % (frozen, bpy.context.scene.frame_current))

# 5. What a tile renderer must not meet: denoising needs the whole frame (and a denoiser).
scene = bpy.context.scene
render = scene.render
if scene.render.engine != 'CYCLES':
    warnings.append('the scene renders with %s; BitWrk renders it with Cycles' % scene.render.engine)
    render.engine = 'CYCLES'
cycles = scene.cycles
if cycles.use_denoising:
    warnings.append('denoising is turned off: tiles are rendered without it')
    cycles.use_denoising = False
for layer in scene.view_layers:
    if getattr(layer.cycles, 'denoising_store_passes', False):
        layer.cycles.denoising_store_passes = False
if render.use_freestyle and any(layer.freestyle_settings.mode == 'SCRIPT' for layer in scene.view_layers if layer.use):
    warnings.append('Freestyle in Python script mode is turned off (sellers run no scripts)')
    render.use_freestyle = False

layers = [layer for layer in scene.view_layers if layer.use]
if getattr(render, 'use_single_layer', False):
    layers = layers[:1]
scale = render.resolution_percentage / 100.0
facts = {
    'blender': '%d.%d' % bpy.app.version[:2],
    'engine': 'cycles',
    'width': int(render.resolution_x * scale),
    'height': int(render.resolution_y * scale),
    'frameStart': scene.frame_start,
    'frameEnd': scene.frame_end,
    'frameCurrent': scene.frame_current,
    'samples': cycles.samples,
    'maxBounces': cycles.max_bounces,
    'viewLayers': max(1, len(layers)),
    'adaptiveSampling': bool(cycles.use_adaptive_sampling),
    'filmTransparent': bool(render.film_transparent),
    'outputFormat': render.image_settings.file_format,
    'outputExtension': render.file_extension,
    'compositing': bool(render.use_compositing and scene.use_nodes),
    'osl': bool(getattr(cycles, 'shading_system', False)),
    'resources': [{'name': name, 'size': info['size'], 'source': info['source']} for name, info in sorted(resources.items())],
    'warnings': warnings,
}
bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out_dir, 'scene.blend'), copy=True, compress=False, relative_remap=False)
with open(os.path.join(out_dir, 'pack.json'), 'w') as out:
    json.dump(facts, out, indent=1)
