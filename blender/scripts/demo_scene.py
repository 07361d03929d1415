# Generates the demo scene that the tests, the benchmark and the playground render (run inside Blender):
#   blender -b --factory-startup -P demo_scene.py -- OUT_DIR [options as JSON]
# OUT_DIR gets scene.blend (the scene), library.blend (linked from it), textures/checker.png (an
# external image texture) and, with "hostile", scripts that would write marker files if run.
# Render settings are the deterministic ones a tile render needs (fixed seed, float EXR, no
# dither, no compositing), so that a direct `blender -b scene.blend -f 1` is the reference.
import json
import os
import sys

import bpy

argv = sys.argv[sys.argv.index('--') + 1:]
out_dir = os.path.abspath(argv[0])
options = json.loads(argv[1]) if len(argv) > 1 else {}
os.makedirs(os.path.join(out_dir, 'textures'), exist_ok=True)


def clear():
    for collection in (bpy.data.objects, bpy.data.meshes, bpy.data.materials, bpy.data.cameras, bpy.data.lights, bpy.data.images):
        for block in list(collection):
            collection.remove(block)


def material(name, color):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    mat.node_tree.nodes['Principled BSDF'].inputs['Base Color'].default_value = color
    return mat


# The library: one object in a collection, saved as its own file.
clear()
bpy.ops.mesh.primitive_cube_add(size=1.2, location=(0, 0, 0))
lib_cube = bpy.context.object
lib_cube.name = 'LibCube'
lib_cube.data.materials.append(material('LibMaterial', (0.1, 0.3, 0.9, 1)))
library_path = os.path.join(out_dir, 'library.blend')
bpy.ops.wm.save_as_mainfile(filepath=library_path, compress=False, copy=True)

# The scene.
clear()
scene = bpy.context.scene
texture_path = os.path.join(out_dir, 'textures', 'checker.png')
checker = bpy.data.images.new('checker', 64, 64)
pixels = []
for y in range(64):
    for x in range(64):
        on = ((x // 8) + (y // 8)) % 2 == 0
        pixels += [0.9, 0.8, 0.2, 1] if on else [0.2, 0.1, 0.05, 1]
checker.pixels = pixels
checker.filepath_raw = texture_path
checker.file_format = 'PNG'
checker.save()
bpy.data.images.remove(checker)

bpy.ops.mesh.primitive_plane_add(size=8, location=(0, 0, 0))
ground = bpy.context.object
ground_mat = bpy.data.materials.new('Checker')
ground_mat.use_nodes = True
nodes = ground_mat.node_tree.nodes
tex = nodes.new('ShaderNodeTexImage')
tex.image = bpy.data.images.load(texture_path)
if 'texture' in options:
    tex.image.filepath = options['texture']  # may name a file that does not exist
tex.interpolation = 'Closest'
ground_mat.node_tree.links.new(tex.outputs['Color'], nodes['Principled BSDF'].inputs['Base Color'])
ground.data.materials.append(ground_mat)

bpy.ops.mesh.primitive_uv_sphere_add(radius=0.8, location=(-1.5, 0.5, 0.8))
sphere = bpy.context.object
sphere.data.materials.append(material('Red', (0.8, 0.1, 0.1, 1)))
# The animated object: it moves between frame 1 and frame 24.
sphere.keyframe_insert('location', frame=1)
sphere.location = (1.5, 0.5, 0.8)
sphere.keyframe_insert('location', frame=24)

with bpy.data.libraries.load(library_path, link=True) as (data_from, data_to):
    data_to.objects = ['LibCube']
linked = data_to.objects[0]
scene.collection.objects.link(linked)

bpy.ops.object.camera_add(location=(0, -7, 4.5), rotation=(1.0, 0, 0))
scene.camera = bpy.context.object
bpy.ops.object.light_add(type='SUN', location=(2, -2, 5))
bpy.context.object.data.energy = 3
world = scene.world or bpy.data.worlds.new('World')
scene.world = world
world.use_nodes = True
world.node_tree.nodes['Background'].inputs['Color'].default_value = (0.3, 0.4, 0.5, 1)

render = scene.render
render.engine = 'CYCLES'
render.resolution_x = options.get('width', 320)
render.resolution_y = options.get('height', 180)
render.resolution_percentage = 100
render.use_compositing = False
render.use_sequencer = False
render.dither_intensity = 0
render.image_settings.file_format = 'OPEN_EXR'
render.image_settings.color_depth = '32'
render.image_settings.exr_codec = 'ZIP'
render.image_settings.color_mode = 'RGBA'
cycles = scene.cycles
cycles.device = 'CPU'
cycles.samples = options.get('samples', 8)
cycles.use_adaptive_sampling = options.get('adaptive', False)
cycles.adaptive_threshold = 0.1
cycles.adaptive_min_samples = 2
cycles.use_denoising = options.get('denoise', False)
cycles.shading_system = options.get('osl', False)
cycles.seed = 7
cycles.use_animated_seed = False
cycles.max_bounces = 4
scene.frame_start = 1
scene.frame_end = 24
scene.frame_set(1)

if options.get('compositor'):
    # A compositor that needs the whole frame (glare spreads light across tile edges) and writes
    # 8-bit PNG through the view transform: the buyer runs it once, on the stitched frame.
    scene.use_nodes = True
    render.use_compositing = True
    tree = scene.node_tree
    layers = tree.nodes['Render Layers']
    composite = tree.nodes['Composite']
    glare = tree.nodes.new('CompositorNodeGlare')
    glare.glare_type = 'FOG_GLOW'
    glare.threshold = 0.5
    balance = tree.nodes.new('CompositorNodeColorBalance')
    balance.lift = (1.0, 0.95, 1.05)
    tree.links.new(layers.outputs['Image'], glare.inputs['Image'])
    tree.links.new(glare.outputs['Image'], balance.inputs['Image'])
    tree.links.new(balance.outputs['Image'], composite.inputs['Image'])
    tree.links.new(layers.outputs['Alpha'], composite.inputs['Alpha'])
    render.image_settings.file_format = 'PNG'
    render.image_settings.color_depth = '8'
    render.image_settings.color_mode = 'RGBA'
    scene.view_settings.view_transform = 'Filmic'
    scene.view_settings.look = 'Medium High Contrast'

if options.get('hostile'):
    marker = options['marker']
    # A registered text block: runs at load time when autoexec is on.
    text = bpy.data.texts.new('startup.py')
    text.write('open(%r, "w").write("text block ran")\n' % (marker + '.text'))
    text.use_module = True
    # A Python driver that imports a module.
    fcurve = sphere.driver_add('scale', 0)
    fcurve.driver.type = 'SCRIPTED'
    fcurve.driver.expression = '__import__("os").system("touch %s.driver") or 1.0' % marker
if options.get('freestyle_script'):
    render.use_freestyle = True
    layer = scene.view_layers[0]
    layer.freestyle_settings.mode = 'SCRIPT'

bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out_dir, 'scene.blend'), compress=False, relative_remap=True)
