"""RFC 8785 (JCS) canonical JSON, byte for byte as Verity's TypeScript code writes it.

Everything a worker digests or signs goes through here: the coordinator recomputes the same digests from
the same values, so one differing byte (a float written the Python way, keys sorted by code point instead
of UTF-16 unit) would make every attestation of this worker fail.
"""

import math
import numbers
import re

_SURROGATE = re.compile('[\ud800-\udfff]')

# Integers JavaScript holds exactly. A larger Python int becomes the nearest double on the other side, so
# it is written as that double is.
_MAX_SAFE_INTEGER = 2**53 - 1

_ESCAPES = {'"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t'}


def canonical_json(value):
    """The canonical JSON text of a JSON value (dict, list, tuple, str, int, float, bool, None)."""
    parts = []
    _write(value, parts, '$')
    return ''.join(parts)


def canonical_bytes(value):
    """The canonical JSON as UTF-8: what gets hashed and signed (lone surrogates are escaped in it)."""
    return canonical_json(value).encode('utf-8')


def utf8(text):
    """UTF-8 as JavaScript's TextEncoder writes it: a surrogate pair is one character, a lone one U+FFFD."""
    text = js_string(text)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub('\ufffd', text)
    return text.encode('utf-8')


def js_string(text):
    """The string JavaScript would hold: a high and a low surrogate next to each other are one character."""
    if not _SURROGATE.search(text):
        return text
    out = []
    i = 0
    while i < len(text):
        code = ord(text[i])
        if 0xD800 <= code <= 0xDBFF and i + 1 < len(text) and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (ord(text[i + 1]) - 0xDC00)))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return ''.join(out)


def format_number(number):
    """A number as ECMAScript's Number.prototype.toString writes it (RFC 8785 section 3.2.2.3)."""
    if isinstance(number, bool):
        raise TypeError('a bool is not a number here')
    if isinstance(number, numbers.Integral):
        # int() first: a subclass (an IntEnum, a numpy integer) may print itself some other way.
        number = int(number)
        if -_MAX_SAFE_INTEGER <= number <= _MAX_SAFE_INTEGER:
            return str(number)
    try:
        number = float(number)
    except OverflowError:
        raise ValueError(f'{number} is beyond the largest double') from None
    if not math.isfinite(number):
        raise ValueError(f'{number} has no JSON representation')
    if number == 0:
        return '0'  # also -0, as JavaScript writes it
    sign = '-' if number < 0 else ''
    digits, n = _shortest_digits(abs(number))
    k = len(digits)
    if k <= n <= 21:
        text = digits + '0' * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + '.' + digits[n:]
    elif -6 < n <= 0:
        text = '0.' + '0' * (-n) + digits
    else:
        exponent = n - 1
        mantissa = digits if k == 1 else digits[0] + '.' + digits[1:]
        text = mantissa + 'e' + ('+' if exponent >= 0 else '-') + str(abs(exponent))
    return sign + text


def _shortest_digits(x):
    """The shortest digits that read back as x (Python's repr finds them), and n with x = 0.digits × 10^n."""
    text = repr(x)
    exponent = 0
    if 'e' in text:
        text, e = text.split('e')
        exponent = int(e)
    if '.' in text:
        whole, fraction = text.split('.')
    else:
        whole, fraction = text, ''
    digits = whole + fraction
    point = len(whole) + exponent
    stripped = digits.lstrip('0')
    point -= len(digits) - len(stripped)
    stripped = stripped.rstrip('0')
    return stripped, point


def _write_string(text, parts):
    out = ['"']
    for ch in js_string(text):
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            # Control characters, and lone surrogates (well-formed JSON.stringify), as \u with lowercase hex.
            out.append('\\u%04x' % code)
        else:
            out.append(ch)
    out.append('"')
    parts.append(''.join(out))


def _utf16_key(key):
    # RFC 8785 sorts property names by their UTF-16 code units, not by code points: they differ above U+FFFF.
    return js_string(key).encode('utf-16-be', 'surrogatepass')


def _write(value, parts, path):
    if value is None:
        parts.append('null')
    elif value is True:
        parts.append('true')
    elif value is False:
        parts.append('false')
    elif isinstance(value, (numbers.Integral, numbers.Real)) and not isinstance(value, (bool, complex)):
        try:
            parts.append(format_number(value))
        except ValueError:
            raise ValueError(f'canonical_json: {path} is {value}, which JSON cannot represent') from None
    elif isinstance(value, str):
        _write_string(value, parts)
    elif isinstance(value, (list, tuple)):
        parts.append('[')
        for i, item in enumerate(value):
            if i:
                parts.append(',')
            _write(item, parts, f'{path}[{i}]')
        parts.append(']')
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f'canonical_json: {path} has a key {key!r} that is not a string')
        parts.append('{')
        first = True
        for key in sorted(value, key=_utf16_key):
            if not first:
                parts.append(',')
            first = False
            _write_string(key, parts)
            parts.append(':')
            _write(value[key], parts, f'{path}.{key}')
        parts.append('}')
    else:
        raise TypeError(f'canonical_json: {path} is a {type(value).__name__}, which JSON cannot represent')
