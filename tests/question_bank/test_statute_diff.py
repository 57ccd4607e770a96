"""The article diff: matched by text, not by number, each kind of change on made-up pairs."""

from question_bank.statutes.diff import (
    ADDED,
    CHANGED,
    REMOVED,
    RENUMBERED,
    UNCHANGED,
    diff_articles,
    marked,
)

A = "行政机关实施示范管理，应当遵守法定程序，保障当事人的陈述权和申辩权。"
B = "申请人可以委托代理人提出申请，代理人应当提交授权委托书。"
C = "示范管理的费用由本级财政预算安排，不得向申请人收取任何费用。"
D = "违反本法规定的，由上级机关责令改正，对直接负责的主管人员依法给予处分。"
NEW = "示范管理机关应当建立健全信息公开制度，及时公布办理结果。"


def _kinds(old: list[str], new: list[str]) -> list[tuple[str, int | None, int | None]]:
    result = diff_articles(
        [((n + 1, 0), text) for n, text in enumerate(old)],
        [((n + 1, 0), text) for n, text in enumerate(new)],
    )
    return [(m.kind, m.old, m.new) for m in result]


def test_identical_versions_are_unchanged_throughout():
    assert _kinds([A, B, C], [A, B, C]) == [(UNCHANGED, 0, 0), (UNCHANGED, 1, 1), (UNCHANGED, 2, 2)]


def test_an_inserted_article_moves_the_later_ones_and_is_added():
    assert _kinds([A, B, C], [A, NEW, B, C]) == [
        (UNCHANGED, 0, 0),
        (ADDED, None, 1),
        (RENUMBERED, 1, 2),
        (RENUMBERED, 2, 3),
    ]


def test_a_removed_article_moves_the_later_ones_back():
    assert _kinds([A, B, C, D], [A, C, D]) == [
        (UNCHANGED, 0, 0),
        (REMOVED, 1, None),
        (RENUMBERED, 2, 1),
        (RENUMBERED, 3, 2),
    ]


def test_a_revised_article_keeping_its_number_is_changed():
    revised_b = B.replace("授权委托书", "授权委托书和身份证明")
    assert _kinds([A, B, C], [A, revised_b, C]) == [
        (UNCHANGED, 0, 0),
        (CHANGED, 1, 1),
        (UNCHANGED, 2, 2),
    ]


def test_a_revised_article_that_also_moved_follows_its_text():
    revised_c = C.replace("本级财政", "同级财政")
    # C changed its words and moved from 第3条 to 第4条; 第3条 is now a new article.
    assert _kinds([A, B, C], [A, B, NEW, revised_c]) == [
        (UNCHANGED, 0, 0),
        (UNCHANGED, 1, 1),
        (ADDED, None, 2),
        (RENUMBERED, 2, 3),
    ]


def test_swapped_articles_are_matched_by_text_not_number():
    assert _kinds([A, B], [B, A]) == [(RENUMBERED, 1, 0), (RENUMBERED, 0, 1)]


def test_an_article_rewritten_beyond_recognition_is_removed_and_added():
    assert _kinds([A, B], [A, NEW]) == [(UNCHANGED, 0, 0), (REMOVED, 1, None), (ADDED, None, 1)]


def test_marked_words():
    assert marked("应当在五日内受理", "应当在三日内受理") == [
        ("same", "应当在"),
        ("del", "五"),
        ("ins", "三"),
        ("same", "日内受理"),
    ]
