# Test driver for Blender's interface (run under Xvfb): installs and enables the add-on, shows the
# BitWrk panel, presses Render as F12 does (INVOKE_DEFAULT: a render window, the render in
# Blender's own thread) and takes screenshots for docs/blender.md: the panel, the image filling in
# tile by tile, the finished frame. Saves the render result for the test to compare.
#   xvfb-run blender --factory-startup SCENE.blend --python ui_walkthrough.py -- CONFIG.json
# CONFIG: {"zip", "settings": {...}, "shots": folder, "result": path of the saved frame, "width"}
import json
import os
import sys
import time
import traceback

import bpy

config = json.load(open(sys.argv[sys.argv.index('--') + 1]))
os.makedirs(config['shots'], exist_ok=True)
started = time.monotonic()
steps = {'shots': [], 'progress_tiles': None}


def say(message):
    print('BitWrk UI test: ' + message, flush=True)


def screenshot(window, name):
    path = os.path.join(config['shots'], name + '.png')
    with bpy.context.temp_override(window=window, screen=window.screen, area=window.screen.areas[0]):
        bpy.ops.screen.screenshot(filepath=path, check_existing=False)
    # Smaller for the docs: scaled to the configured width.
    image = bpy.data.images.load(path)
    width, height = image.size
    scale = config.get('width', 960) / width
    if scale < 1:
        image.scale(int(width * scale), int(height * scale))
    image.filepath_raw = path
    image.file_format = 'PNG'
    image.save()
    bpy.data.images.remove(image)
    steps['shots'].append(name)
    say('screenshot %s' % name)


def finish(code):
    with open(os.path.join(config['shots'], 'steps.json'), 'w') as out:
        json.dump(steps, out)
    say('done (exit %d)' % code)
    os._exit(code)


def guarded(step):
    def run():
        try:
            return step()
        except Exception:
            traceback.print_exc()
            finish(1)
    return run


@guarded
def set_up():
    bpy.ops.preferences.addon_install(filepath=config['zip'], overwrite=True)
    bpy.ops.preferences.addon_enable(module='render_bitwrk')
    scene = bpy.context.scene
    scene.render.engine = 'BITWRK'
    for name, value in config['settings'].items():
        setattr(scene.bitwrk, name, value)
    bpy.context.preferences.view.render_display_type = 'WINDOW'  # a render window, as by default
    # The 3D view becomes a wide Properties editor on the Render tab, for a readable screenshot.
    window = bpy.context.window_manager.windows[0]
    view = max(window.screen.areas, key=lambda area: area.width * area.height)
    view.type = 'PROPERTIES'
    bpy.app.timers.register(guarded(lambda: render_tab(view)), first_interval=1)  # its tabs exist once drawn


def render_tab(view):
    view.spaces[0].context = 'RENDER'
    bpy.app.timers.register(show_panel, first_interval=3)  # the status line fetches in the meantime


@guarded
def show_panel():
    screenshot(bpy.context.window_manager.windows[0], 'addon-panel')
    window = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=window):
        bpy.ops.render.render('INVOKE_DEFAULT')
    say('render started')
    bpy.app.timers.register(watch, first_interval=0.5)


@guarded
def watch():
    from render_bitwrk import engine
    session = engine.SESSION
    rendering = bpy.app.is_job_running('RENDER')
    windows = bpy.context.window_manager.windows
    if steps['progress_tiles'] is None and session is not None and 2 * session.tiles_written >= session.total and session.tiles_written < session.total:
        # Half the tiles are in and some are not: shot once the render window has redrawn.
        steps['progress_tiles'] = [session.tiles_written, session.total]
        windows[-1].screen.areas[0].tag_redraw()
        bpy.app.timers.register(guarded(lambda: screenshot(windows[-1], 'addon-progress')), first_interval=0.3)
    if not rendering and time.monotonic() - started > 8:
        screenshot(windows[-1], 'addon-done')
        bpy.data.images['Render Result'].save_render(config['result'])
        finish(0)
    if time.monotonic() - started > 300:
        say('timed out')
        finish(1)
    return 0.25


bpy.app.timers.register(set_up, first_interval=1)
