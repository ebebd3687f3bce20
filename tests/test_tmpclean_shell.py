"""The shell-word reader (sunray/tmpclean/shell.py): words keep their exact
spans, variables are followed to their values, odd syntax is refused."""

import pytest

from sunray.tmpclean import shell


def test_words_keep_their_spans_and_quote_removed_values():
    text = 'A=1 /usr/sbin/tmpwatch -x "/tmp/a b" \\\n  $A 10d /tmp # comment\n'
    [cmd], loops = shell.commands(text)
    assert [a.raw for a in cmd.assignments] == ["A=1"]
    assert [w.value for w in cmd.words] == ["/usr/sbin/tmpwatch", "-x", "/tmp/a b", "$A", "10d", "/tmp"]
    assert all(text[w.start:w.end] == w.raw for w in cmd.words)
    assert [w.line for w in cmd.words][-1] == 2 and loops == {}


@pytest.mark.parametrize("raw, only_variable, literal", [
    ("$A", "A", False), ("${A}", "A", False), ('"$A"', "A", False),
    ("$A/x", "", False), ("'$A'", "", True), ("a$", "", True),
])
def test_which_words_expand(raw, only_variable, literal):
    [cmd], _ = shell.commands(f"echo {raw}\n")
    word = cmd.words[1]
    assert (word.only_variable, word.literal) == (only_variable, literal)


def test_definitions_follow_assignments_and_loops():
    cmds, loops = shell.commands("age=10d\nfor d in /tmp /var/tmp; do :; done\nfor x; do :; done\n")
    assert [w.value for w in shell.definitions(cmds, loops, "age")] == ["10d"]
    assert [w.value for w in shell.definitions(cmds, loops, "d")] == ["/tmp", "/var/tmp"]
    assert shell.definitions(cmds, loops, "x") == [None]  # iterates over "$@": unseen


@pytest.mark.parametrize("text, why", [
    ("cat <<EOF\nx\nEOF\n", "here-document"),
    ("echo 'open\n", "unterminated single quote"),
    ('echo "$(date\n', "unterminated ("),
])
def test_syntax_it_does_not_follow_is_refused(text, why):
    with pytest.raises(shell.ShellShapeError, match=why.replace("(", r"\(")):
        shell.commands(text)
