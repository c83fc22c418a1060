"""The shell commands of the fenced ``bash`` blocks of README.md and docs/reproduce.md.

The tests under ``tests/docs`` run these commands by their text as written in the
documents (looked up with :func:`command`), so a document and its test cannot drift
apart: a changed command is no longer found, a new one is reported by
``test_documented_commands.py`` until it is run or excluded with a reason.

Extraction rules (the subset of shell syntax the documents use):

- only blocks fenced with ```` ```bash ````;
- a line ending in ``\\`` continues on the next line;
- ``#`` at the start of a word outside quotes starts a comment (to the end of the line);
- ``a && b`` and ``a; b`` are separate commands;
- a ``for ...; do ... done`` loop and a ``{ ...; } > FILE`` group stay one command (with
  its newlines) of kind ``'shell'``, to be run with bash;
- whitespace runs outside quotes collapse to one space.
"""
import collections
import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))
DOCUMENTS = ('README.md', os.path.join('docs', 'reproduce.md'))

#: ``doc``: file relative to the repository, ``line``: 1-based line of the first line,
#: ``text``: the command, ``kind``: ``'simple'`` (argv) or ``'shell'`` (run with bash)
Command = collections.namedtuple('Command', ['doc', 'line', 'text', 'kind'])


def bash_blocks(text):
    """``[(first line number, [lines])]`` of the ```` ```bash ```` blocks of ``text``."""
    blocks, current, start = [], None, None
    for no, line in enumerate(text.split('\n'), 1):
        stripped = line.strip()
        if current is None:
            if stripped == '```bash':
                current, start = [], no + 1
        elif stripped.startswith('```'):
            blocks.append((start, current))
            current = None
        else:
            current.append(line)
    if current is not None:
        raise ValueError('unterminated ```bash block starting at line %d' % (start - 1))
    return blocks


def strip_comment(line):
    """``line`` without its comment (``#`` at the start of a word, outside quotes)."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in '\'"':
            quote = c
        elif c == '#' and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    if quote:
        raise ValueError('unbalanced quote in %r' % line)
    return line.rstrip()


def split_list(line):
    """Split a comment-free line at the top-level separators ``&&`` and ``;``."""
    parts, buf, quote, i = [], [], None, 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == quote:
                quote = None
        elif c in '\'"':
            quote = c
        elif line.startswith('&&', i) or c == ';':
            parts.append(''.join(buf))
            buf = []
            i += 2 if c == '&' else 1
            continue
        buf.append(c)
        i += 1
    parts.append(''.join(buf))
    return parts


def collapse(text):
    """Whitespace runs outside quotes -> one space; ends stripped."""
    out, quote, space = [], None, False
    for c in text.strip():
        if quote:
            out.append(c)
            if c == quote:
                quote = None
            continue
        if c.isspace():
            space = True
            continue
        if space and out:
            out.append(' ')
        space = False
        if c in '\'"':
            quote = c
        out.append(c)
    return ''.join(out)


def logical_lines(lines, first):
    """Comments dropped, ``\\`` continuations joined: ``[(first line number, text)]``.

    As in bash, a comment runs to the end of its line, so a backslash inside a comment
    continues nothing.
    """
    out, pending, start = [], None, None
    for no, line in enumerate(lines, first):
        code = strip_comment(line)
        if pending is None:
            start, pending = no, ''
        if code.endswith('\\'):
            pending += code[:-1] + ' '
            continue
        out.append((start, pending + code))
        pending = None
    if pending is not None:
        raise ValueError('a backslash continuation runs past the end of a block')
    return out


#: compound commands kept whole: opening word -> closing word
COMPOUND = {'for': 'done', 'while': 'done', 'until': 'done', 'if': 'fi', '{': '}'}


def _words(code):
    return [w for w in re.split(r'[\s;]+', code) if w]


def commands_of(text, doc):
    """Every command of the bash blocks of ``text`` (a document called ``doc``)."""
    result = []
    for first, block in bash_blocks(text):
        logical = [(no, code) for no, code in logical_lines(block, first) if code.strip()]
        i = 0
        while i < len(logical):
            no, code = logical[i]
            words = _words(code)
            if words[0] in COMPOUND:
                opener, closer = words[0], COMPOUND[words[0]]
                body, depth = [], 0
                while i < len(logical):
                    piece = logical[i][1]
                    body.append(collapse(piece))
                    ws = _words(piece)
                    depth += sum(1 for w in ws if w == opener)
                    depth -= sum(1 for w in ws if w == closer)
                    i += 1
                    if depth <= 0:
                        break
                if depth > 0:
                    raise ValueError('%s:%d: %r is never closed' % (doc, no, opener))
                result.append(Command(doc, no, '\n'.join(body), 'shell'))
                continue
            for part in split_list(code):
                part = collapse(part)
                if part:
                    result.append(Command(doc, no, part, 'simple'))
            i += 1
    return result


def read_document(doc):
    with open(os.path.join(ROOT, doc), encoding='utf-8') as f:
        return f.read()


def documented_commands(documents=DOCUMENTS):
    """Every command of the documents, in document order (duplicates kept)."""
    out = []
    for doc in documents:
        out.extend(commands_of(read_document(doc), doc))
    return out


def command(text, doc=None):
    """The documented command whose text is ``text`` (collapsed); AssertionError if the
    documents (or ``doc``) hold no such command: the document changed, so must the test."""
    want = collapse(text) if '\n' not in text else text.strip()
    found = [c for c in documented_commands() if c.text == want and (doc is None or c.doc == doc)]
    assert found, ('%r is not a command of %s any more; update the test that runs it'
                   % (text, doc or ' / '.join(DOCUMENTS)))
    return found[0]
