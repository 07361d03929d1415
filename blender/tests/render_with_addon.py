# Test driver: installs the add-on zip into this Blender's (temporary) user profile, enables it and
# renders the open scene with the BitWrk engine, as a user would after pressing Render:
#   blender -b --factory-startup SCENE.blend -P render_with_addon.py -- CONFIG.json
# CONFIG: {"zip", "settings": {BitWrkSettings fields}, "output": path prefix, "animation": bool,
# "frames": [first, last]}. Exits 1 when the add-on cannot be installed or enabled.
import json
import sys

import bpy

config = json.load(open(sys.argv[sys.argv.index('--') + 1]))
bpy.ops.preferences.addon_install(filepath=config['zip'], overwrite=True)
bpy.ops.preferences.addon_enable(module='render_bitwrk')
if not any(engine.bl_idname == 'BITWRK' for engine in bpy.types.RenderEngine.__subclasses__()):
    print('BitWrk test: the engine is not registered', file=sys.stderr)
    sys.exit(1)

scene = bpy.context.scene
scene.render.engine = 'BITWRK'
print('BitWrk test: engine %s, Cycles panels shown for it: %d' % (scene.render.engine, sum(1 for panel in bpy.types.Panel.__subclasses__() if 'BITWRK' in getattr(panel, 'COMPAT_ENGINES', ()))), flush=True)
for name, value in config['settings'].items():
    setattr(scene.bitwrk, name, value)
scene.render.filepath = config['output']
if config.get('frames'):
    scene.frame_start, scene.frame_end = config['frames']
if config.get('animation'):
    bpy.ops.render.render(animation=True)
else:
    bpy.ops.render.render(write_still=True)
print('BitWrk test: render returned', flush=True)
