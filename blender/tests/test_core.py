# Unit tests of the add-on's parts that need no Blender scene (render_bitwrk/core.py), run by
# Blender's own Python (the one the add-on runs in) from `npm test`:
#   blender -b --factory-startup --python-exit-code 1 -P blender/tests/test_core.py
import importlib.util
import json
import os
import re
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('bitwrk_core', os.path.join(HERE, '..', 'render_bitwrk', 'core.py'))
core = importlib.util.module_from_spec(spec)
spec.loader.exec_module(core)

GOOD = dict(daemon_url='http://127.0.0.1:8091/', cost_class='512M', article='', max_price_sats=0, concurrency=4, retries=2)


def tile_event(tile, rendered, state='done', path='/tmp/t.exr'):
    return json.dumps({'type': 'tile', 'frame': 1, 'state': state, 'path': path, 'tradeId': 'b-1', 'tile': {'column': 0, 'row': 0, 'tile': tile, 'rendered': rendered, 'rays': 1}})


class Settings(unittest.TestCase):
    def test_good_settings_are_normalised(self):
        checked = core.check_settings(**GOOD)
        self.assertEqual(checked['daemon_url'], 'http://127.0.0.1:8091')

    def test_each_bad_setting_is_named(self):
        cases = [
            (dict(daemon_url='127.0.0.1:8091'), 'Daemon URL'),
            (dict(daemon_url='http://host/path'), 'Daemon URL'),
            (dict(cost_class='1T'), 'Cost class'),
            (dict(article='net.bitwrk/blender/3.4/eevee/512M'), 'Article'),
            (dict(max_price_sats=-1), 'Max price'),
            (dict(max_price_sats=True), 'Max price'),
            (dict(concurrency=0), 'Concurrency'),
            (dict(concurrency=257), 'Concurrency'),
            (dict(retries=101), 'Retries'),
        ]
        for change, named in cases:
            with self.subTest(change=change):
                with self.assertRaises(core.SettingsError) as raised:
                    core.check_settings(**dict(GOOD, **change))
                self.assertIn(named, str(raised.exception))

    def test_the_article(self):
        self.assertEqual(core.article_for(core.check_settings(**GOOD), (3, 4, 1)), 'net.bitwrk/blender/3.4/cycles/512M')
        named = core.check_settings(**dict(GOOD, article='net.bitwrk/blender/4.2/cycles-osl/2G'))
        self.assertEqual(core.article_for(named, (3, 4, 1)), 'net.bitwrk/blender/4.2/cycles-osl/2G')


class Command(unittest.TestCase):
    def test_the_command_comes_from_the_environment_then_the_preference(self):
        self.assertEqual(core.bitwrk_command('', {}), ['bitwrk'])
        self.assertEqual(core.bitwrk_command('/opt/bitwrk/bin/bitwrk', {}), ['/opt/bitwrk/bin/bitwrk'])
        self.assertEqual(core.bitwrk_command('x', {'BITWRK_COMMAND': 'node "/a b/bitwrk.js"'}), ['node', '/a b/bitwrk.js'])
        with self.assertRaises(core.SettingsError):
            core.bitwrk_command('  ', {})

    def test_render_arguments(self):
        arguments = core.render_arguments(core.check_settings(**dict(GOOD, max_price_sats=200)), '/w/scene.blend', [7], '/w/out', '/usr/bin/blender', 'tok')
        self.assertEqual(arguments[:4], ['render', '/w/scene.blend', '--frames', '7'])
        for flag, value in (('--cost', '512M'), ('--max-price', '200'), ('--token', 'tok'), ('--blender', '/usr/bin/blender'), ('--concurrency', '4')):
            self.assertEqual(arguments[arguments.index(flag) + 1], value)
        self.assertIn('--events', arguments)
        without = core.render_arguments(core.check_settings(**dict(GOOD, article='net.bitwrk/blender/3.4/cycles/2G')), 's', [1], 'o', 'b', None)
        self.assertNotIn('--max-price', without)
        self.assertNotIn('--token', without)
        self.assertNotIn('--cost', without)
        self.assertEqual(without[without.index('--article') + 1], 'net.bitwrk/blender/3.4/cycles/2G')


    def test_frames(self):
        self.assertEqual(core.frame_list(5, 10, 1, False), [5])
        self.assertEqual(core.frame_list(5, 8, 1, True), [5, 6, 7, 8])
        self.assertEqual(core.frame_list(1, 6, 2, True), [1, 3, 5])
        self.assertEqual(core.frame_list(9, 3, 1, True), [9])
        self.assertEqual(core.frames_argument([7]), '7')
        self.assertEqual(core.frames_argument([1, 2, 3]), '1-3')
        self.assertEqual(core.frames_argument([1, 3, 5]), '1,3,5')


class Token(unittest.TestCase):
    def test_the_token_comes_from_the_panel_the_environment_or_the_daemon_folder(self):
        with tempfile.TemporaryDirectory() as folder:
            self.assertIsNone(core.read_token('', folder, {}))
            with open(os.path.join(folder, 'api-token'), 'w') as out:
                out.write('from-file\n')
            self.assertEqual(core.read_token('', folder, {}), 'from-file')
            self.assertEqual(core.read_token('', folder, {'BITWRK_API_TOKEN': 'from-env'}), 'from-env')
            self.assertEqual(core.read_token(' typed ', folder, {'BITWRK_API_TOKEN': 'from-env'}), 'typed')

    def test_the_daemon_folder(self):
        self.assertEqual(core.default_daemon_dir({'BITWRK_HOME': '/h'}), os.path.join('/h', 'daemon'))


class Events(unittest.TestCase):
    def test_a_done_tile_is_placed_inside_its_rendered_rectangle(self):
        event = core.parse_event(tile_event({'x': 116, 'y': 64, 'width': 117, 'height': 65}, {'x': 108, 'y': 56, 'width': 133, 'height': 81}))
        self.assertEqual(core.placement(event['tile']), ((116, 64, 117, 65), (8, 8)))

    def test_a_tile_at_the_frame_corner_has_no_offset(self):
        event = core.parse_event(tile_event({'x': 0, 'y': 0, 'width': 50, 'height': 40}, {'x': 0, 'y': 0, 'width': 58, 'height': 48}))
        self.assertEqual(core.placement(event['tile']), ((0, 0, 50, 40), (0, 0)))

    def test_a_tile_outside_its_rendered_rectangle_is_refused(self):
        event = core.parse_event(tile_event({'x': 10, 'y': 0, 'width': 50, 'height': 40}, {'x': 0, 'y': 0, 'width': 55, 'height': 40}))
        with self.assertRaises(core.EventError):
            core.placement(event['tile'])

    def test_lines_that_are_no_events(self):
        self.assertIsNone(core.parse_event('  \n'))
        for line in ('not json', '[1, 2]', '{"no": "type"}', tile_event({'x': -1, 'y': 0, 'width': 1, 'height': 1}, {'x': 0, 'y': 0, 'width': 1, 'height': 1}),
                     json.dumps({'type': 'tile', 'state': 'done', 'tile': {'tile': {'x': 0, 'y': 0, 'width': 1, 'height': 1}, 'rendered': {'x': 0, 'y': 0, 'width': 1, 'height': 1}}}),
                     json.dumps({'type': 'packed', 'width': 10})):
            with self.subTest(line=line):
                with self.assertRaises(core.EventError):
                    core.parse_event(line)

    def test_other_events_pass(self):
        self.assertEqual(core.parse_event('{"type": "progress", "tilesDone": 1}')['tilesDone'], 1)


class Packaging(unittest.TestCase):
    def test_the_manifest_for_blender_4_2_extensions_agrees_with_bl_info(self):
        try:
            import tomllib
        except ImportError:
            self.skipTest('this Python has no tomllib')
        folder = os.path.join(HERE, '..', 'render_bitwrk')
        with open(os.path.join(folder, 'blender_manifest.toml'), 'rb') as source:
            manifest = tomllib.load(source)
        for key in ('schema_version', 'id', 'version', 'name', 'tagline', 'maintainer', 'type', 'blender_version_min', 'license'):
            self.assertIn(key, manifest)
        self.assertEqual(manifest['type'], 'add-on')
        with open(os.path.join(folder, '__init__.py')) as source:
            version = re.search(r"'version': \((\d+), (\d+), (\d+)\)", source.read()).groups()
        self.assertEqual(manifest['version'], '.'.join(version))
        # Blender refuses a tagline or permission reason over 64 characters or ending in a full stop.
        for text in [manifest['tagline']] + list(manifest.get('permissions', {}).values()):
            self.assertLessEqual(len(text), 64, text)
            self.assertFalse(text.endswith('.'), text)


class Messages(unittest.TestCase):
    def test_advice_for_what_users_meet(self):
        cases = [
            ('fetch failed', 'not running'),
            ('no permission to buy net.bitwrk/blender/3.4/cycles/512M (no_permission)', 'mandate'),
            ('insufficient funds: 10 sat available', 'funds'),
            ('no seller took the bid (3 bids placed)', 'No seller'),
            ('the exchange ws://x does not trade net.bitwrk/blender/9.9/cycles/512M', 'does not trade'),
        ]
        for message, expected in cases:
            with self.subTest(message=message):
                self.assertIn(expected, core.advice(message))
        self.assertIsNone(core.advice('something else entirely'))

    def test_status_line(self):
        self.assertEqual(core.describe_status({'availableSats': 1234567, 'sellers': 2}), 'daemon reachable, balance 1,234,567 sat, 2 seller bid(s) on the book')
        self.assertEqual(core.describe_status({'availableSats': 5, 'sellers': 0}), 'daemon reachable, balance 5 sat, no seller on the book')
        self.assertIn('does not answer', core.describe_status({'error': 'the daemon at x does not answer'}))


if __name__ == '__main__':
    result = unittest.main(argv=[sys.argv[0], '-v'], exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
