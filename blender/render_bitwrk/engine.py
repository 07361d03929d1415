# The "BitWrk" render engine: F12 (or bpy.ops.render.render) saves a copy of the open file, runs
# `bitwrk render` and writes each tile into the render result as it arrives, so the image fills in
# tile by tile. An animation (Ctrl-F12) is one `bitwrk render` for all its frames: the scene is
# packed once and every frame shares its chunks, which sellers then hold already; Blender asks
# for the frames one by one and each takes its tiles from that session. Esc (a break) cancels:
# `bitwrk render` is interrupted and cancels every purchase still open.
import atexit
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import traceback

import bpy

from . import core, daemon, ui

# How long `bitwrk render` may take to cancel its purchases after an interrupt before it is killed.
CANCEL_GRACE_SECONDS = 20
STDERR_LINES_KEPT = 40
# How long a render waits for "Also render on this computer"'s worker to register with the daemon.
LOCAL_WORKER_WAIT_SECONDS = 20


def log(message):
    # Background renders (and the tests) read these lines; Blender's report area shows the rest.
    print('BitWrk: ' + message, flush=True)


class Session:
    """One `bitwrk render` process and what it printed, sorted by frame."""

    def __init__(self, key, frames, process, work_dir):
        self.key, self.frames, self.process, self.work_dir = key, frames, process, work_dir
        self.common = queue.Queue()  # events of no one frame (packed, warning, progress, summary)
        self.by_frame = {frame: queue.Queue() for frame in frames}
        self.errors = []  # the last lines of its stderr
        self.summary, self.packed_dir, self.total, self.tiles_written = None, None, 0, 0
        # tiles_written counts every frame's tiles painted so far (the window test's progress shot reads it).
        self.plan = []  # the tiles of a frame, from the packed event
        self.interrupted_at, self.cancelled, self.failure = None, False, None
        self.readers = [threading.Thread(target=self._read_events, daemon=True), threading.Thread(target=self._read_errors, daemon=True)]
        for reader in self.readers:
            reader.start()

    def _read_events(self):
        for line in iter(self.process.stdout.readline, ''):
            try:
                event = core.parse_event(line)
            except core.EventError as error:
                log('ignored: %s' % error)
                continue
            if event is None:
                continue
            target = self.by_frame.get(event.get('frame')) if event['type'] in ('tile', 'frame') else None
            (target or self.common).put(event)

    def _read_errors(self):
        for line in iter(self.process.stderr.readline, ''):
            self.errors.append(line.rstrip())
            del self.errors[:-STDERR_LINES_KEPT]

    def finished(self):
        return self.process.poll() is not None and not any(reader.is_alive() for reader in self.readers)

    def next_event(self, frame, timeout):
        """The next event for `frame` (or of all frames), or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for source in (self.common, self.by_frame[frame]):
                try:
                    return source.get_nowait()
                except queue.Empty:
                    pass
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def interrupt(self):
        if self.interrupted_at is None and self.process.poll() is None:
            self.interrupted_at = time.monotonic()
            self.process.send_signal(signal.SIGINT)  # bitwrk render cancels its open purchases

    def enforce_grace(self):
        if self.interrupted_at is not None and self.process.poll() is None and time.monotonic() - self.interrupted_at > CANCEL_GRACE_SECONDS:
            self.process.kill()

    def close(self):
        """Ends the process (cancelling what is open) and removes its files."""
        self.interrupt()
        try:
            self.process.wait(timeout=CANCEL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for folder in (self.packed_dir, self.work_dir):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)


SESSION = None


def _close_session():
    global SESSION
    if SESSION is not None:
        SESSION.close()
        SESSION = None


atexit.register(_close_session)


class BitWrkRenderEngine(bpy.types.RenderEngine):
    bl_idname = 'BITWRK'
    bl_label = 'BitWrk'
    bl_use_preview = False  # material previews stay local (Eevee / Cycles)
    bl_use_eevee_viewport = True
    bl_use_postprocess = True  # the buyer's compositor and sequencer run here, once, on the whole frame

    def render(self, depsgraph):
        scene = depsgraph.scene
        frame = scene.frame_current
        try:
            session = self.session_for(scene, frame)
        except core.SettingsError as error:
            _close_session()
            return self.fail(str(error))
        done = self.render_frame(session, frame)
        if not done or frame == session.frames[-1] or session.finished():
            self.end_session(session, frame, done)

    def fail(self, message):
        log('error: ' + message)
        self.report({'ERROR'}, 'BitWrk: ' + message)

    def session_for(self, scene, frame):
        """The running session that renders `frame` of this scene, or a new one; SettingsError says why not."""
        global SESSION
        settings = scene.bitwrk
        checked = core.check_settings(settings.daemon_url, settings.cost_class, settings.article, settings.max_price_sats, settings.concurrency, settings.retries)
        command = core.bitwrk_command(addon_preferences().bitwrk_command)
        key = (scene.name, repr(sorted(checked.items())))
        if SESSION is not None and self.is_animation and SESSION.key == key and frame in SESSION.by_frame:
            return SESSION
        _close_session()
        token = core.read_token(settings.api_token, core.default_daemon_dir())
        if token is None:
            raise core.SettingsError('No API token: start the daemon once ("bitwrk daemon"), or paste the token from its folder (api-token) into the BitWrk panel.')
        self.preflight(checked, token)
        if settings.render_locally:
            # Your own worker takes your tiles first (no market, no money) once it is registered.
            ui.LOCAL_WORKER.sync(scene)
            if not ui.LOCAL_WORKER.wait_registered(checked['daemon_url'], token, LOCAL_WORKER_WAIT_SECONDS):
                self.report({'WARNING'}, 'BitWrk: your own worker did not register in time: the tiles go to the market')
                log('warning: the local worker did not register in time')
        frames = core.frame_list(frame, scene.frame_end, scene.frame_step, self.is_animation)
        work_dir = tempfile.mkdtemp(prefix='bitwrk-blender-')
        copy = os.path.join(work_dir, 'scene.blend')
        # A copy of the open file as it is now (unsaved changes included); the user's file is untouched.
        # The copy says Cycles: the Blender that packs it (and the sellers') has no BitWrk engine.
        original = bpy.data.scenes[scene.name]
        original.render.engine = 'CYCLES'
        try:
            bpy.ops.wm.save_as_mainfile(filepath=copy, copy=True, check_existing=False)
        finally:
            original.render.engine = self.bl_idname
        arguments = core.render_arguments(checked, copy, frames, os.path.join(work_dir, 'out'), bpy.app.binary_path, token)
        log('rendering %s through the market: %s' % (core.frames_argument(frames), ' '.join(command + arguments[:2])))
        try:
            process = subprocess.Popen(command + arguments, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        except OSError as error:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise core.SettingsError('cannot run the BitWrk command %r (%s): set it in the add-on\'s preferences, or $BITWRK_COMMAND' % (' '.join(command), error))
        SESSION = Session(key, frames, process, work_dir)
        return SESSION

    def preflight(self, settings, token):
        """Before packing: is the daemon there, does it take the token, does anyone sell the article?"""
        article = core.article_for(settings, bpy.app.version)
        status = daemon.status(settings['daemon_url'], token, article)
        if status.get('error'):
            hint = core.advice(status['error'])
            raise core.SettingsError(status['error'] if hint is None else '%s. %s' % (status['error'], hint))
        if status.get('sellers') == 0:
            self.report({'WARNING'}, 'BitWrk: no seller offers %s right now: the tiles wait for one (or for your own worker)' % article)
            log('warning: no seller offers %s right now' % article)
        if status.get('availableSats') == 0 and settings['max_price_sats'] > 0:
            self.report({'WARNING'}, 'BitWrk: your account has 0 sat available: only your own workers can take the tiles')

    def render_frame(self, session, frame):
        """Paints the frame's tiles as they come; True once the frame is complete."""
        state = {'written': set()}  # (column, row) of the frame's tiles in the result
        while True:
            if self.test_break():
                log('cancelled: cancelling the open purchases')
                session.cancelled = True
                session.interrupt()
                return False
            session.enforce_grace()
            event = session.next_event(frame, 0.1)
            if event is None:
                if session.finished() and session.by_frame[frame].empty() and session.common.empty():
                    return False
                continue
            try:
                if self.on_event(session, event, state):
                    return event['ok']
            except Exception as error:  # a bug here must not leave purchases open: cancel them
                traceback.print_exc()
                session.failure = 'the add-on failed on a %s event (%s: %s); the open purchases were cancelled' % (event['type'], type(error).__name__, error)
                session.interrupt()
                return False

    def on_event(self, session, event, state):
        """Handles one event; True when it is the frame's end."""
        kind = event['type']
        if kind == 'packed':
            session.packed_dir = event.get('dir') or None
            session.plan = [tile for tile in event.get('tiles') or [] if isinstance(tile, dict)]
            session.total = len(session.plan)
            log('packed: %d x %d px, %d tiles (%d x %d) per frame' % (event['width'], event['height'], session.total, event['columns'], event['rows']))
            self.update_stats('', 'BitWrk: %d tiles to buy per frame' % session.total)
        elif kind == 'warning':
            log('warning: ' + str(event.get('message')))
            self.report({'WARNING'}, 'BitWrk: %s' % event.get('message'))
        elif kind == 'tile':
            self.on_tile(session, event, state)
        elif kind == 'progress':
            done, total = event.get('tilesDone', 0), event.get('tilesTotal', 0)
            eta = event.get('etaMs')
            if total:
                self.update_progress(done / total)
            self.update_stats('', 'BitWrk: %d/%d tiles, %d sat%s' % (done, total, event.get('satsSpent', 0), '' if eta is None else ', ETA %d s' % (eta / 1000 + 0.999)))
        elif kind == 'frame':
            summary = event.get('summary') or {}
            if event.get('ok'):
                log('frame %s complete: %d purchases, %d sat, %d bytes sent of %d bytes of jobs' % (event['frame'], summary.get('purchases', 0), summary.get('satsSpent', 0), summary.get('bytesSent', 0), summary.get('jobBytes', 0)))
            else:
                session.failure = 'frame %s not completed: %s' % (event['frame'], event.get('message'))
                self.paint_missing(session, state)
            return True
        elif kind == 'summary':
            session.summary = event
        return False

    def on_tile(self, session, event, state):
        tile = event['tile']
        where = 'tile %d,%d' % (tile.get('column', -1), tile.get('row', -1))
        if event.get('state') == 'failed':
            log('%s failed: %s' % (where, event.get('message')))
            return
        if event.get('state') != 'done':
            return
        (x, y, width, height), (offset_x, offset_y) = core.placement(tile)
        result = self.begin_result(x, y, width, height)
        try:
            result.layers[0].load_from_file(event['path'], x=offset_x, y=offset_y)
        except RuntimeError as error:
            log('%s could not be loaded: %s' % (where, error))
            self.end_result(result, cancel=True)
            return
        self.end_result(result)
        state['written'].add((tile.get('column'), tile.get('row')))
        session.tiles_written += 1
        log('%s written into the result (%d/%d)' % (where, len(state['written']), session.total))

    def paint_missing(self, session, state):
        """A frame out of retries: its tiles that never came are painted red, so the gap is plain."""
        for tile in session.plan:
            if (tile.get('column'), tile.get('row')) in state['written']:
                continue
            (x, y, width, height), _ = core.placement(tile)
            result = self.begin_result(x, y, width, height)
            result.layers[0].passes['Combined'].rect = [core.FAILED_TILE_RGBA] * (width * height)
            self.end_result(result)
            log('tile %s,%s painted as failed' % (tile.get('column'), tile.get('row')))

    def end_session(self, session, frame, done):
        """The last frame, a failure or a cancel: waits for `bitwrk render` to end and says how it went."""
        global SESSION
        cancelled, failure = session.cancelled, session.failure
        if not done:
            session.interrupt()
        while not session.finished():
            session.enforce_grace()
            time.sleep(0.05)
        while not session.common.empty():
            event = session.common.get_nowait()
            if event['type'] == 'summary':
                session.summary = event
        code = session.process.returncode
        SESSION = None
        session.close()
        if cancelled:
            return log('render cancelled (exit %s)' % code)
        if done and code == 0 and failure is None:
            return log('render complete (%s sat)' % (session.summary or {}).get('satsSpent', 0))
        message = failure or next((line.split(': ', 1)[-1] for line in reversed(session.errors) if line.startswith('bitwrk ')), None) or (session.errors[-1] if session.errors else 'bitwrk render exited %s before frame %d was complete' % (code, frame))
        hint = core.advice(message)
        self.fail(message if hint is None else '%s. %s' % (message, hint))
        for line in session.errors[-10:]:
            log('  ' + line)


def addon_preferences():
    return bpy.context.preferences.addons[__package__].preferences
