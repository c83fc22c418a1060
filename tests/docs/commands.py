"""The shell commands of the fenced ``bash`` blocks of README.md, every ``docs/*.md`` and
``models/README.md`` (when there is one): :data:`DOCUMENTS`.

The tests under ``tests/docs`` run these commands by their text as written in the
documents (looked up with :func:`command`), so a document and its test cannot drift
apart: a changed command is no longer found, a new one is reported by
``test_documented_commands.py`` until it is run or excluded with a reason.

Extraction rules (the subset of shell syntax the documents use):

- only blocks fenced with ```` ```bash ````;
- a line ending in ``\\`` continues on the next line, and so does a line that ends inside
  quotes (the newline stays in the quoted text, as in bash);
- ``#`` at the start of a word outside quotes starts a comment (to the end of the line);
- ``a && b`` and ``a; b`` are separate commands;
- a ``for ...; do ... done`` loop and a ``{ ...; } > FILE`` group stay one command (with
  its newlines) of kind ``'shell'``, to be run with bash;
- whitespace runs outside quotes collapse to one space.
"""
import collections
import glob
import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))


def find_documents(root=ROOT):
    """README.md, every ``docs/*.md`` (sorted) and ``models/README.md`` if it exists:
    a new document is covered without a change here."""
    docs = sorted(os.path.relpath(p, root)
                  for p in glob.glob(os.path.join(root, 'docs', '*.md')))
    extra = [d for d in (os.path.join('models', 'README.md'),)
             if os.path.exists(os.path.join(root, d))]
    return tuple(['README.md'] + docs + extra)


DOCUMENTS = find_documents()

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


def scan_line(line, quote=None):
    """``(code, quote)``: ``line`` without its comment (``#`` at the start of a word,
    outside quotes) and the quote still open at its end (``None``: none); ``quote`` is
    the one open when the line starts."""
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in '\'"':
            quote = c
        elif c == '#' and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), None
    return (line if quote else line.rstrip()), quote


def strip_comment(line):
    """``line`` without its comment; ValueError if a quote is left open."""
    code, quote = scan_line(line)
    if quote:
        raise ValueError('unbalanced quote in %r' % line)
    return code


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
    """Comments dropped, ``\\`` continuations and quotes over several lines joined:
    ``[(first line number, text)]``.

    As in bash, a comment runs to the end of its line, so a backslash inside a comment
    continues nothing; a newline inside quotes is kept.
    """
    out, pending, start, quote = [], None, None, None
    for no, line in enumerate(lines, first):
        code, quote = scan_line(line, quote)
        if pending is None:
            start, pending = no, ''
        if quote:
            pending += code + '\n'
            continue
        if code.endswith('\\'):
            pending += code[:-1] + ' '
            continue
        out.append((start, pending + code))
        pending = None
    if quote:
        raise ValueError('unbalanced quote in the command starting at line %d' % start)
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


def normalize(text):
    """A command as a test writes it -> its text as :func:`commands_of` gives it: a
    compound command (``for``, ``{`` ...) keeps its lines, a simple one is collapsed
    (a newline inside its quotes stays)."""
    words = _words(text)
    return text.strip() if words and words[0] in COMPOUND else collapse(text)


def command(text, doc=None):
    """The documented command whose text is ``text`` (normalized); AssertionError if the
    documents (or ``doc``) hold no such command: the document changed, so must the test."""
    want = normalize(text)
    found = [c for c in documented_commands() if c.text == want and (doc is None or c.doc == doc)]
    assert found, ('%r is not a command of %s any more; update the test that runs it'
                   % (text, doc or ' / '.join(DOCUMENTS)))
    return found[0]
