# The add-on's parts that need no Blender: settings checks, the `bitwrk render` command line, the
# events it prints (one JSON object per line), where a tile goes in the render result, and what an
# error means for the user. Packing, tiling, cost and buying run once, in `bitwrk render`; the
# add-on drives it and paints what it reports, so there is one implementation of each.
import json
import os
import re
import shlex

COST_CLASSES = ('512M', '2G', '8G', '32G')
ARTICLE_PATTERN = re.compile(r'net\.bitwrk/blender/\d+\.\d+/cycles(-osl)?/(512M|2G|8G|32G)')
DEFAULT_DAEMON_URL = 'http://127.0.0.1:8091'
CONCURRENCY_MAX = 256
RETRIES_MAX = 100
MONEY_SATS_MAX = 21_000_000 * 100_000_000
# What a tile that could not be bought looks like in the result (premultiplied linear RGBA).
FAILED_TILE_RGBA = (0.8, 0.0, 0.0, 1.0)


class SettingsError(ValueError):
    """A setting the user must fix; the message names it and says what is expected."""


def check_settings(daemon_url, cost_class, article, max_price_sats, concurrency, retries):
    """Checks the panel's values; returns them normalised, or raises SettingsError."""
    url = (daemon_url or '').strip().rstrip('/')
    if not re.fullmatch(r'https?://[^\s/]+', url):
        raise SettingsError('Daemon URL must be http://HOST:PORT (got "%s")' % daemon_url)
    if cost_class not in COST_CLASSES:
        raise SettingsError('Cost class must be one of %s (got "%s")' % (', '.join(COST_CLASSES), cost_class))
    article = (article or '').strip()
    if article and not ARTICLE_PATTERN.fullmatch(article):
        raise SettingsError('Article must look like net.bitwrk/blender/3.4/cycles/512M (got "%s")' % article)
    for name, value, low, high in (('Max price per tile', max_price_sats, 0, MONEY_SATS_MAX), ('Concurrency', concurrency, 1, CONCURRENCY_MAX), ('Retries', retries, 0, RETRIES_MAX)):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise SettingsError('%s must be a whole number from %d to %d (got %r)' % (name, low, high, value))
    return {'daemon_url': url, 'cost_class': cost_class, 'article': article, 'max_price_sats': max_price_sats, 'concurrency': concurrency, 'retries': retries}


def bitwrk_command(configured, environ=None):
    """The program that runs `bitwrk`: $BITWRK_COMMAND, else the preference, else `bitwrk` on PATH."""
    environ = os.environ if environ is None else environ
    text = environ.get('BITWRK_COMMAND') or configured or 'bitwrk'
    words = shlex.split(text)
    if not words:
        raise SettingsError('the BitWrk command is empty')
    return words


def frame_list(current, end, step, animation):
    """The frames one `bitwrk render` renders: the current one, or for an animation it and those after it."""
    if not animation:
        return [current]
    return list(range(current, max(current, end) + 1, max(1, step)))


def frames_argument(frames):
    """`--frames` for a list: "1-24" for a run of frames, else "1,3,5"."""
    if len(frames) > 1 and frames == list(range(frames[0], frames[-1] + 1)):
        return '%d-%d' % (frames[0], frames[-1])
    return ','.join(str(frame) for frame in frames)


def render_arguments(settings, scene_path, frames, output_dir, blender_path, token):
    """The arguments after the command: `render SCENE --frames LIST --events --keep ...`."""
    arguments = ['render', scene_path, '--frames', frames_argument(frames), '--output', output_dir, '--events', '--keep',
                 '--concurrency', str(settings['concurrency']), '--retries', str(settings['retries']),
                 '--daemon', settings['daemon_url'], '--blender', blender_path]
    if settings['article']:
        arguments += ['--article', settings['article']]
    else:
        arguments += ['--cost', settings['cost_class']]
    if settings['max_price_sats'] > 0:
        arguments += ['--max-price', str(settings['max_price_sats'])]
    if token:
        arguments += ['--token', token]
    return arguments


def default_daemon_dir(environ=None):
    environ = os.environ if environ is None else environ
    home = environ.get('BITWRK_HOME') or os.path.join(os.path.expanduser('~'), '.bitwrk')
    return os.path.join(home, 'daemon')


def read_token(configured, daemon_dir, environ=None):
    """The API token: the panel's, else $BITWRK_API_TOKEN, else DAEMON-DIR/api-token; None when none."""
    environ = os.environ if environ is None else environ
    token = (configured or '').strip() or (environ.get('BITWRK_API_TOKEN') or '').strip()
    if token:
        return token
    try:
        with open(os.path.join(daemon_dir, 'api-token')) as source:
            return source.read().strip() or None
    except OSError:
        return None


class EventError(ValueError):
    """A line from `bitwrk render` that is not an event this add-on understands."""


def _rect(value, what):
    if not isinstance(value, dict) or any(not isinstance(value.get(key), int) or value.get(key) < 0 for key in ('x', 'y', 'width', 'height')):
        raise EventError('%s is not a rectangle: %r' % (what, value))
    return value


def parse_event(line):
    """One line of `bitwrk render --events`: a dict with its "type" checked, or None for a blank line."""
    line = line.strip()
    if not line:
        return None
    try:
        event = json.loads(line)
    except ValueError:
        raise EventError('not JSON: %s' % line[:200])
    if not isinstance(event, dict) or not isinstance(event.get('type'), str):
        raise EventError('not an event: %s' % line[:200])
    kind = event['type']
    if kind == 'tile':
        tile = event.get('tile')
        if not isinstance(tile, dict):
            raise EventError('a tile event without its tile')
        _rect(tile.get('tile'), 'tile.tile')
        _rect(tile.get('rendered'), 'tile.rendered')
        if event.get('state') == 'done' and not isinstance(event.get('path'), str):
            raise EventError('a done tile without its path')
    elif kind == 'packed':
        for key in ('width', 'height', 'columns', 'rows'):
            if not isinstance(event.get(key), int):
                raise EventError('a packed event without %s' % key)
    return event


def placement(tile):
    """Where a tile's image goes: the result rectangle (x, y, w, h) and the offset of its pixels in
    the file the seller rendered (which includes the overscan)."""
    inner, rendered = tile['tile'], tile['rendered']
    offset_x, offset_y = inner['x'] - rendered['x'], inner['y'] - rendered['y']
    if offset_x < 0 or offset_y < 0 or offset_x + inner['width'] > rendered['width'] or offset_y + inner['height'] > rendered['height']:
        raise EventError('tile %r lies outside its rendered rectangle %r' % (inner, rendered))
    return (inner['x'], inner['y'], inner['width'], inner['height']), (offset_x, offset_y)


def advice(message):
    """What the user can do about an error `bitwrk render` or the daemon reported."""
    text = message.lower()
    if 'econnrefused' in text or 'fetch failed' in text or 'is the daemon running' in text or 'cannot reach' in text:
        return 'The BitWrk daemon is not running: start it with "bitwrk daemon" (or check the Daemon URL).'
    if 'token' in text and ('401' in text or 'missing' in text or 'wrong' in text or 'no api token' in text):
        return 'No valid API token: it is in the daemon\'s folder (api-token); set it in the BitWrk panel.'
    if 'no_permission' in text or 'no permission' in text or 'mandate' in text:
        return 'No buy mandate allows this purchase: set "Max price per tile", or create a mandate (button in the BitWrk panel).'
    if 'insufficient' in text or 'funds' in text:
        return 'Not enough funds on your BitWrk account for the bids: deposit, or lower the price.'
    if 'no seller' in text or 'not matched' in text or 'expired' in text:
        return 'No seller took the tiles: nobody sells this article at your price right now.'
    if 'does not trade' in text or 'article_unknown' in text:
        return 'The exchange does not trade this article: pick another cost class, or check your Blender version.'
    if 'could not be packed' in text or 'missing' in text or 'not found' in text:
        return 'A file the scene uses could not be packed: see the warnings above.'
    return None


def article_for(settings, blender_version):
    """The article to buy: the one named, else Cycles of this Blender's major.minor in the cost class."""
    if settings['article']:
        return settings['article']
    return 'net.bitwrk/blender/%d.%d/cycles/%s' % (blender_version[0], blender_version[1], settings['cost_class'])


def describe_status(status):
    """The panel's status line from what the daemon answered (see daemon.py)."""
    if status is None:
        return 'checking the daemon...'
    if status.get('error'):
        return status['error']
    parts = ['daemon reachable']
    if status.get('availableSats') is not None:
        parts.append('balance %s sat' % format(status['availableSats'], ','))
    if status.get('sellers') is not None:
        parts.append('%d seller bid(s) on the book' % status['sellers'] if status['sellers'] else 'no seller on the book')
    return ', '.join(parts)
