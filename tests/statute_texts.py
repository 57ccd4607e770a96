"""Made-up statutes for the law library's tests, one per layout the importer reads: the
official text (title, 题注 in brackets, 目录, spaced headings), a Markdown copy, a Word
file, and a 宪法-like text with 序言 and amendment articles. None is a real law."""

import io

#: the official layout: 编, 分编 (with chapters numbered on across it), 章, 节, 之一,
#: 款 and 项, an unnumbered 附则
OFFICIAL = """中华人民共和国示范管理法

（2001年3月1日第九届全国人民代表大会常务委员会第二十次会议通过　根据2010年5月6日第十一届全国人民代表大会常务委员会第十四次会议《关于修订〈中华人民共和国示范管理法〉的决定》修正）

目　　录

第一编　总　　则
　第一章　一般规定
第二编　分　　则
　第一分编　登　　记
　　第二章　登记程序
　　　第一节　申　　请
　　　第二节　受　　理
附　　则

第一编　总　　则

第一章　一般规定

　　第一条　为了规范示范管理活动，制定本法。

　　第二条　示范管理应当遵循下列原则：

　　（一）公开；

　　（二）公正；

　　（三）便民。

　　示范管理机关应当依法履行职责。

第二编　分　　则

第一分编　登　　记

第二章　登记程序

第一节　申　　请

　　第三条　申请人应当提交申请书。

　　第三条之一　申请书应当载明申请人的姓名和住所。

第二节　受　　理

　　第四条　机关收到申请后，应当在五日内决定是否受理。

　　不予受理的，应当书面说明理由。

附　　则

　　第五条　本法自2011年1月1日起施行。
"""

#: the same statute as a Markdown copy (headings with #, article numbers in bold)
MARKDOWN = """# 中华人民共和国示范管理法

2001年3月1日第九届全国人民代表大会常务委员会第二十次会议通过

根据2010年5月6日第十一届全国人民代表大会常务委员会第十四次会议修正

# 第一编　总则

### 第一章　一般规定

**第一条**　为了规范示范管理活动，制定本法。

**第二条**　示范管理应当遵循下列原则：

（一）公开；

（二）公正；

（三）便民。

示范管理机关应当依法履行职责。

# 第二编　分则

## 第一分编　登记

### 第二章　登记程序

#### 第一节　申请

**第三条**　申请人应当提交申请书。

**第三条之一**　申请书应当载明申请人的姓名和住所。

#### 第二节　受理

**第四条**　机关收到申请后，应当在五日内决定是否受理。

不予受理的，应当书面说明理由。

# 附则

**第五条**　本法自2011年1月1日起施行。
"""

#: a constitution-like text: 序言, chapters and sections, then amendments numbered anew,
#: one of them quoting an article in a Markdown ::: block
CHARTER = """# 序言

本章程是示范组织的根本章程。

# 第一章　总纲

**第一条**　示范组织是自愿结成的组织。

**第二条**　示范组织的一切权力属于全体成员。

# 第二章　机构

## 第一节　大会

**第三条**　大会是最高机构。

# 修正案

## 示范组织章程修正案（2010年）

*2010年3月1日全体大会通过*

**第一条**　章程第二条增加一款。

## 示范组织章程修正案（2020年）

*2020年3月1日全体大会通过*

**第二条**　章程第二章增加一节：

::: tip 第二节　理事会

**第三条之一**　理事会执行大会的决议。

:::
"""

#: 2011年修订 of OFFICIAL's statute, changed on purpose: 第一条 unchanged; 第二条 its
#: 款 changed; a new 第三条 inserted, so old 第三条 and 第三条之一 move to 第四条 and 第五条
#: unchanged; old 第四条 removed; old 第五条 moves to 第六条 with a new date
REVISED = """中华人民共和国示范管理法

（2001年3月1日第九届全国人民代表大会常务委员会第二十次会议通过　2011年6月1日第十一届全国人民代表大会常务委员会第二十一次会议修订）

第一章　一般规定

第一条　为了规范示范管理活动，制定本法。

第二条　示范管理应当遵循下列原则：

（一）公开；

（二）公正；

（三）便民。

示范管理机关应当依法、高效履行职责。

第二章　登记程序

第三条　申请可以通过网络提出。

第四条　申请人应当提交申请书。

第五条　申请书应当载明申请人的姓名和住所。

第六条　本法自2012年1月1日起施行。
"""


def docx_bytes(lines: list[str], *, table: bool = False, tracked: bool = False) -> bytes:
    """A Word file with one paragraph per line (optionally a table, or a tracked insertion)."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.oxml.parser import OxmlElement

    document = Document()
    for line in lines:
        document.add_paragraph(line)
    if table:
        document.add_table(rows=1, cols=2).cell(0, 0).text = "表格内容"
    if tracked:
        paragraph = document.paragraphs[-1]._p
        insertion = OxmlElement("w:ins")
        insertion.set(qn("w:id"), "1")
        insertion.set(qn("w:author"), "某人")
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "修订中插入的文字"
        run.append(text)
        insertion.append(run)
        paragraph.append(insertion)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
