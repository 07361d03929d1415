# The add-on's settings (per scene, and the add-on's preferences), drawn at the top of the Render
# properties, its buttons, and Cycles' own panels shown for the BitWrk engine too (a scene set up
# for Cycles renders unchanged: the engine reuses Cycles' settings).
import atexit
import os
import shlex
import subprocess
import threading
import time
import webbrowser

import bpy

from . import core, daemon

STATUS_REFRESH_SECONDS = 3


class BitWrkPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__
    bitwrk_command: bpy.props.StringProperty(
        name='BitWrk command', default='bitwrk',
        description='The program that runs "bitwrk" (e.g. bitwrk, or node /path/to/bin/bitwrk.js); $BITWRK_COMMAND overrides it')

    def draw(self, context):
        self.layout.prop(self, 'bitwrk_command')


class BitWrkSettings(bpy.types.PropertyGroup):
    daemon_url: bpy.props.StringProperty(name='Daemon URL', default=core.DEFAULT_DAEMON_URL, description="Your BitWrk daemon's local API")
    api_token: bpy.props.StringProperty(name='API token', default='', subtype='PASSWORD', description="Empty: read from the daemon's folder (~/.bitwrk/daemon/api-token) or $BITWRK_API_TOKEN")
    cost_class: bpy.props.EnumProperty(
        name='Cost class', default='512M', description='The most rays one tile may cost (pixels x samples x bounces x view layers): bigger classes, bigger tiles',
        items=[(name, name + ' rays', '') for name in core.COST_CLASSES])
    article: bpy.props.StringProperty(name='Article', default='', description='Empty: net.bitwrk/blender/<your Blender>/cycles/<cost class>')
    max_price_sats: bpy.props.IntProperty(name='Max price per tile (sat)', default=0, min=0, description='0: what your buy mandate allows')
    concurrency: bpy.props.IntProperty(name='Concurrency', default=4, min=1, max=core.CONCURRENCY_MAX, description='Tiles bought at once')
    retries: bpy.props.IntProperty(name='Retries', default=2, min=0, max=core.RETRIES_MAX, description='Purchases of a failed tile after the first, each from another seller')
    render_locally: bpy.props.BoolProperty(
        name='Also render on this computer', default=False, update=lambda self, context: LOCAL_WORKER.sync(context.scene),
        description='Runs a BitWrk Blender worker here while this is on; your daemon gives it your tiles first (no market, no money)')


def _article(settings):
    try:
        checked = core.check_settings(settings.daemon_url, settings.cost_class, settings.article, settings.max_price_sats, settings.concurrency, settings.retries)
    except core.SettingsError:
        return None, None
    return checked, core.article_for(checked, bpy.app.version)


class _Status:
    """The daemon's status, fetched off Blender's main thread: drawing a panel never waits."""

    def __init__(self):
        self.value, self.key, self.fetched, self.busy, self.wanted = None, None, 0.0, False, 0.0

    def want(self, url, token, article):
        self.wanted = time.monotonic()
        key = (url, token, article)
        if self.busy or (key == self.key and time.monotonic() - self.fetched < STATUS_REFRESH_SECONDS):
            return
        self.busy, self.key = True, key
        threading.Thread(target=self._fetch, args=key, daemon=True).start()

    def _fetch(self, url, token, article):
        try:
            self.value = daemon.status(url, token, article)
        finally:
            self.fetched, self.busy = time.monotonic(), False


STATUS = _Status()


def _redraw_timer():
    # Redraws the properties editor while the panel is in use, so the status line stays current.
    if time.monotonic() - STATUS.wanted < 10 and bpy.context.screen is not None:
        for area in bpy.context.screen.areas:
            if area.type == 'PROPERTIES':
                area.tag_redraw()
    return STATUS_REFRESH_SECONDS


def draw_settings(self, context):
    """The BitWrk settings, drawn under the Render Engine selector (appended to RENDER_PT_context):
    at the top of the Render properties, above Cycles' panels, where a saved layout cannot push a
    panel of its own below them."""
    if context.engine != 'BITWRK':
        return
    layout = self.layout
    settings = context.scene.bitwrk
    checked, article = _article(settings)
    token = core.read_token(settings.api_token, core.default_daemon_dir())
    if checked is not None:
        STATUS.want(checked['daemon_url'], token, article)
    box = layout.box()
    box.label(text='BitWrk: ' + (core.describe_status(STATUS.value) if checked is not None else 'check the settings below'), icon='INFO')
    row = box.row()
    row.operator('bitwrk.open_page', icon='URL')
    row.operator('bitwrk.create_mandate', icon='ADD')
    column = box.column()
    column.use_property_split = True
    column.use_property_decorate = False
    column.prop(settings, 'daemon_url')
    column.prop(settings, 'api_token')
    column.prop(settings, 'cost_class')
    column.prop(settings, 'article')
    if article is not None:
        column.label(text='Buys ' + article)
    column.prop(settings, 'max_price_sats')
    column.prop(settings, 'concurrency')
    column.prop(settings, 'retries')
    column.prop(settings, 'render_locally')
    if LOCAL_WORKER.running():
        column.label(text='Your worker is running', icon='CHECKMARK')


class BITWRK_OT_open_page(bpy.types.Operator):
    bl_idname = 'bitwrk.open_page'
    bl_label = 'Open daemon page'
    bl_description = "Opens your daemon's page in the browser (the token travels in the link's fragment, never to a server)"

    def execute(self, context):
        settings = context.scene.bitwrk
        token = core.read_token(settings.api_token, core.default_daemon_dir())
        webbrowser.open(settings.daemon_url.rstrip('/') + '/' + ('#token=' + token if token else ''))
        return {'FINISHED'}


class BITWRK_OT_create_mandate(bpy.types.Operator):
    bl_idname = 'bitwrk.create_mandate'
    bl_label = 'Create buy mandate'
    bl_description = 'Lets your daemon buy tiles of this article up to a price, for a number of tiles and an hour'

    price_sats: bpy.props.IntProperty(name='Price per tile (sat)', default=2000, min=1)
    trades: bpy.props.IntProperty(name='Tiles', default=64, min=1, max=100_000)

    def invoke(self, context, event):
        if context.scene.bitwrk.max_price_sats > 0:
            self.price_sats = context.scene.bitwrk.max_price_sats
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        settings = context.scene.bitwrk
        checked, article = _article(settings)
        if checked is None:
            self.report({'ERROR'}, 'BitWrk: fix the settings first')
            return {'CANCELLED'}
        try:
            mandate = daemon.create_mandate(checked['daemon_url'], core.read_token(settings.api_token, core.default_daemon_dir()), article, self.price_sats, self.trades, 3600)
        except daemon.DaemonError as error:
            self.report({'ERROR'}, 'BitWrk: no mandate: %s' % error)
            return {'CANCELLED'}
        self.report({'INFO'}, 'BitWrk: mandate %s: up to %d sat a tile, %d tiles, for an hour' % (mandate.get('mandateId'), self.price_sats, self.trades))
        return {'FINISHED'}


class _LocalWorker:
    """`bitwrk worker blender` with this Blender, while "Also render on this computer" is on."""

    def __init__(self):
        self.process = None
        self.id = 'blender-addon-%d' % os.getpid()

    def running(self):
        return self.process is not None and self.process.poll() is None

    def sync(self, scene):
        settings = scene.bitwrk
        if settings.render_locally and not self.running():
            from .engine import addon_preferences
            token = core.read_token(settings.api_token, core.default_daemon_dir())
            command = core.bitwrk_command(addon_preferences().bitwrk_command)
            arguments = ['worker', 'blender', '--id', self.id, '--blender', bpy.app.binary_path, '--daemon', settings.daemon_url] + (['--token', token] if token else [])
            try:
                self.process = subprocess.Popen(command + arguments, stdin=subprocess.DEVNULL)
            except OSError as error:
                print('BitWrk: cannot start the local worker (%s %s): %s' % (' '.join(shlex.quote(word) for word in command), arguments[0], error))
        elif not settings.render_locally and self.running():
            self.stop()

    def wait_registered(self, url, token, timeout):
        """True once the daemon lists this worker (then it gives it our tiles first)."""
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            try:
                workers = daemon.call(url, '/workers', token)
                if isinstance(workers, list) and any(isinstance(worker, dict) and str(worker.get('id', '')).startswith(self.id) for worker in workers):
                    return True
            except daemon.DaemonError:
                pass
            time.sleep(0.25)
        return False

    def stop(self):
        if self.running():
            self.process.terminate()  # the worker unregisters from the daemon on SIGTERM
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None


LOCAL_WORKER = _LocalWorker()
atexit.register(LOCAL_WORKER.stop)  # Blender quits without unregistering add-ons


def cycles_panels():
    """Cycles' panels and the standard ones that list Cycles: shown for BitWrk as well."""
    for panel in bpy.types.Panel.__subclasses__():
        engines = getattr(panel, 'COMPAT_ENGINES', None)
        if isinstance(engines, set) and 'CYCLES' in engines:
            yield panel


CLASSES = (BitWrkPreferences, BitWrkSettings, BITWRK_OT_open_page, BITWRK_OT_create_mandate)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.bitwrk = bpy.props.PointerProperty(type=BitWrkSettings)
    for panel in cycles_panels():
        panel.COMPAT_ENGINES.add('BITWRK')
    bpy.types.RENDER_PT_context.append(draw_settings)
    if not bpy.app.background:
        bpy.app.timers.register(_redraw_timer, first_interval=STATUS_REFRESH_SECONDS, persistent=True)


def unregister():
    if bpy.app.timers.is_registered(_redraw_timer):
        bpy.app.timers.unregister(_redraw_timer)
    LOCAL_WORKER.stop()
    bpy.types.RENDER_PT_context.remove(draw_settings)
    for panel in cycles_panels():
        panel.COMPAT_ENGINES.discard('BITWRK')
    del bpy.types.Scene.bitwrk
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
