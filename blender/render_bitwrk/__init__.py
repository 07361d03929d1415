# BitWrk for Blender: a render engine that renders through the BitWrk market. Press Render (F12):
# the frame is packed, split into tiles, each tile bought from a seller through your BitWrk daemon,
# and written into the image as it arrives. See docs/blender.md ("The Blender add-on").
bl_info = {
    'name': 'BitWrk',
    'author': 'BitWrk',
    'version': (0, 1, 0),
    'blender': (3, 4, 0),
    'location': 'Properties > Render > Render Engine: BitWrk',
    'description': 'Render through the BitWrk market: tiles rendered by other people\'s machines, paid in bitcoin',
    'category': 'Render',
}

import bpy

from . import engine, ui


def register():
    ui.register()
    bpy.utils.register_class(engine.BitWrkRenderEngine)


def unregister():
    bpy.utils.unregister_class(engine.BitWrkRenderEngine)
    ui.unregister()
