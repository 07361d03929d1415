# The daemon's local API (docs/daemon.md), as the panel uses it: is it there, the account's balance,
# sellers on the article's book, and a buy mandate for a render. Every call has a short timeout:
# the panel must never hang Blender.
import json
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT_SECONDS = 2
# The panel's answers are small; a larger one is not the daemon's.
RESPONSE_BYTES_MAX = 1024 * 1024


class DaemonError(Exception):
    pass


def call(base_url, path, token, body=None, timeout=TIMEOUT_SECONDS):
    headers = {'authorization': 'Bearer ' + token} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers['content-type'] = 'application/json'
    request = urllib.request.Request(base_url + path, data=data, headers=headers, method='POST' if body is not None else 'GET')
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read(RESPONSE_BYTES_MAX + 1)
            if len(text) > RESPONSE_BYTES_MAX:
                raise DaemonError('the answer from %s%s is over %d bytes' % (base_url, path, RESPONSE_BYTES_MAX))
            return json.loads(text.decode() or 'null')
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read(RESPONSE_BYTES_MAX).decode())['error']['message']
        except (ValueError, KeyError, TypeError):
            message = error.reason
        raise DaemonError('%s (HTTP %d)' % (message, error.code))
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DaemonError('the daemon at %s does not answer (%s): is it running? Start it with "bitwrk daemon"' % (base_url, getattr(error, 'reason', error)))


def _object(value, what):
    if not isinstance(value, dict):
        raise DaemonError('%s is not what a BitWrk daemon answers' % what)
    return value


def status(base_url, token, article):
    """{'availableSats', 'sellers'} or {'error'}; never raises."""
    try:
        call(base_url, '/info', token)
    except DaemonError as error:
        return {'error': str(error)}
    if not token:
        return {'error': 'daemon reachable, but no API token (see the daemon\'s folder, api-token)'}
    result = {}
    try:
        available = _object(call(base_url, '/account', token), 'the account').get('availableSats')
        asks = _object(call(base_url, '/depth/' + urllib.parse.quote(article, safe='/.'), token), 'the book').get('asks')
        if not isinstance(available, int) or not isinstance(asks, list) or not all(isinstance(level, dict) and isinstance(level.get('count'), int) for level in asks):
            raise DaemonError('the account or the book is not what a BitWrk daemon answers')
        result['availableSats'] = available
        result['sellers'] = sum(level['count'] for level in asks)
    except DaemonError as error:
        result['error'] = 'daemon reachable; ' + str(error)
    return result


def create_mandate(base_url, token, article, price_sats, trades, valid_seconds):
    return call(base_url, '/mandates', token, {'side': 'buy', 'article': article, 'priceSats': price_sats, 'trades': trades, 'validForSeconds': valid_seconds})
