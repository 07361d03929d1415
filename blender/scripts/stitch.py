# Assembles a frame from its tiles (run by `bitwrk render` on the buyer, in Blender, which decodes
# and encodes the images):
#   blender -b --factory-startup -Y -noaudio scene.blend -P stitch.py -- STITCH.json
# STITCH.json: {"width", "height", "tiles": [{"path", "rendered": RECT, "tile": RECT}], "frame",
# "composite", "exr", "output", "status"}; RECT = {"x", "y", "width", "height"} in pixels, y = 0 at
# the bottom. Each tile's file must be exactly its rendered rectangle (the tile and its overscan); the tile part
# is copied into the frame. "exr" gets the frame as 32-bit float EXR; "output" (optional) gets it
# in the scene's own output format, colour-managed as the scene says. With "composite": true the
# scene's compositor runs once on the stitched frame first (its Render Layers nodes are replaced by
# the frame; Blender then composites without rendering) and "output" gets its result. The status
# file gets {"ok", "problems": [{"path", "error"}], "warnings": [...]}.
import json
import sys
from array import array

import bpy

job = json.load(open(sys.argv[sys.argv.index('--') + 1]))
width, height = job['width'], job['height']
frame = array('f', bytes(4 * width * height * 4))
problems = []
warnings = []

for tile in job['tiles']:
    rendered, part = tile['rendered'], tile['tile']
    try:
        image = bpy.data.images.load(tile['path'])
        size = tuple(image.size)
    except Exception as error:  # noqa: BLE001 (a tile that does not decode is a failed tile)
        problems.append({'path': tile['path'], 'error': 'not a readable image: %s' % error})
        continue
    if size != (rendered['width'], rendered['height']):
        problems.append({'path': tile['path'], 'error': 'the tile is %d x %d pixels, %d x %d were rendered' % (size[0], size[1], rendered['width'], rendered['height'])})
        continue
    pixels = array('f', bytes(4 * size[0] * size[1] * 4))
    image.pixels.foreach_get(pixels)
    bpy.data.images.remove(image)
    if any(value != value for value in pixels):
        problems.append({'path': tile['path'], 'error': 'the tile has NaN pixels'})
        continue
    dx, dy = part['x'] - rendered['x'], part['y'] - rendered['y']
    row = part['width'] * 4
    for j in range(part['height']):
        source = ((dy + j) * rendered['width'] + dx) * 4
        target = ((part['y'] + j) * width + part['x']) * 4
        frame[target:target + row] = pixels[source:source + row]

def composite(scene, image, output):
    """Runs the scene's compositor on the stitched frame and writes its result to `output`."""
    tree = scene.node_tree
    for node in list(tree.nodes):
        if node.type != 'R_LAYERS' or node.mute:
            continue
        source = tree.nodes.new('CompositorNodeImage')
        source.image = image
        for socket in node.outputs:
            for link in list(socket.links):
                if socket.name in ('Image', 'Alpha'):
                    tree.links.new(source.outputs[socket.name], link.to_socket)
                elif socket.enabled:
                    warnings.append('the compositor uses the %s pass of %s, which tiles do not bring back: it gets nothing there' % (socket.name, node.layer))
        tree.nodes.remove(node)
    scene.render.filepath = output
    scene.render.use_file_extension = False
    bpy.ops.render.render(write_still=True)


if not problems:
    scene = bpy.context.scene
    scene.frame_set(job.get('frame', scene.frame_current))  # animated compositor settings
    image = bpy.data.images.new('frame', width, height, alpha=True, float_buffer=True)
    image.alpha_mode = 'PREMUL'  # before the pixels: changing it regenerates the buffer
    image.pixels.foreach_set(frame)
    output_settings = scene.render.image_settings
    if job.get('output'):
        if job.get('composite'):
            composite(scene, image, job['output'])
        else:
            image.save_render(job['output'], scene=scene)
    output_settings.file_format = 'OPEN_EXR'
    output_settings.color_depth = '32'
    output_settings.color_mode = 'RGBA'
    output_settings.exr_codec = 'ZIP'
    image.save_render(job['exr'], scene=scene)
with open(job['status'], 'w') as out:
    json.dump({'ok': not problems, 'problems': problems, 'warnings': warnings}, out)
