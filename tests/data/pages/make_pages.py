"""Writes NN.html (the page) and NN.txt (the expected body, one paragraph per line) for each text
in articles.py, each in the markup of a different kind of Chinese news CMS: navigation, sidebars
with hot lists, related links, share bars, comments, editor lines, footers, GBK encodings.

Run from this folder: ``python make_pages.py`` (the output is committed; rerun after edits).
"""

from __future__ import annotations

import html
from pathlib import Path

from articles import ARTICLES, HELD_OUT

HERE = Path(__file__).parent
HOT = [
    "自治区召开冬季安全生产工作电视电话会议", "新疆多地迎来降雪降温天气 交通部门提醒注意出行安全",
    "兵团今年粮食总产量再创新高", "乌鲁木齐国际机场冬季航班计划发布 新增多条国内航线",
    "南疆地区职业技能培训惠及十万农民", "新疆博物馆推出冬季特展 展出文物三百余件",
    "中欧班列霍尔果斯口岸今年通行量突破七千列", "自治区出台措施支持小微企业发展",
]
COMMENTS = [
    "这个政策真好，我们村去年也改造了，冬天家里暖和多了，就是希望以后电价能再便宜一点，毕竟家里老人多，一个冬天都要开着暖气，开销还是不小的。",
    "点赞！希望更多的地方都能推广，基层干部辛苦了。",
    "请问我们小区什么时候能纳入改造计划？已经打了好几次电话咨询，一直没有明确答复，希望有关部门能给个准信。",
    "楼上说得对，我们这边也是一样的情况，盼着早日落实。",
]


def esc(s: str) -> str:
    return html.escape(s, quote=False)


def nav() -> str:
    items = ["首页", "时政", "新疆", "兵团", "国内", "国际", "经济", "文化", "体育", "图片", "视频", "专题"]
    return "<ul class=\"nav\">" + "".join(f'<li><a href="/{i}/">{n}</a></li>' for i, n in enumerate(items)) + "</ul>"


def hot_list(cls: str = "hot") -> str:
    return f'<div class="{cls}"><h3>热点推荐</h3><ul>' + "".join(
        f'<li><a href="/2026/11/{20 + i}/c_{9000 + i}.htm">{esc(t)}</a></li>' for i, t in enumerate(HOT)
    ) + "</ul></div>"


def related(n: int = 4) -> str:
    return '<div class="related"><h3>相关新闻</h3><ul>' + "".join(
        f'<li><a href="/2026/11/2{i}/c_{8000 + i}.htm">{esc(t)}</a><span>2026-11-2{i}</span></li>'
        for i, t in enumerate(HOT[2 : 2 + n])
    ) + "</ul></div>"


def comments() -> str:
    return '<div class="comment"><h3>网友评论</h3>' + "".join(
        f'<div class="cmt-item"><span class="user">网友{i + 1}</span><p>{esc(c)}</p><span class="time">2026-11-30 1{i}:2{i}</span></div>'
        for i, c in enumerate(COMMENTS)
    ) + "</div>"


def footer() -> str:
    return (
        '<div class="footer"><p><a href="/about/">关于我们</a> | <a href="/contact/">联系我们</a> | '
        '<a href="/ad/">广告服务</a> | <a href="/law/">法律声明</a></p>'
        "<p>版权所有 天山新闻网 未经授权禁止转载、摘编、复制或建立镜像</p>"
        "<p>新ICP备00000000号 新公网安备00000000000000号 互联网新闻信息服务许可证：6500000000</p></div>"
    )


def head(title: str, charset: str = "utf-8", meta: str = "charset") -> str:
    if meta == "charset":
        m = f'<meta charset="{charset}">'
    elif meta == "http-equiv":
        m = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    else:
        m = ""
    return (
        f"<!DOCTYPE html><html lang=\"zh-CN\"><head>{m}<title>{esc(title)}_新闻中心</title>"
        '<meta name="keywords" content="新疆,新闻"><link rel="stylesheet" href="/css/main.css">'
        "<script>var _hmt = _hmt || [];(function(){var hm=document.createElement('script');})();</script></head>"
    )


def ps(paragraphs: list[str], attr: str = "") -> str:
    return "".join(f"<p{attr}>{esc(p)}</p>" for p in paragraphs)


def t0(title, paras):  # xinhua-like
    return head(title) + f"""<body><div class="header">{nav()}<div class="search"><input type="text" placeholder="搜索"></div></div>
<div class="container"><div class="main"><div class="crumbs"><a href="/">首页</a> &gt; <a href="/xj/">新疆</a> &gt; 正文</div>
<h1 class="title">{esc(title)}</h1><div class="info"><span class="time">2026-11-30 09:12:36</span><span class="source">来源：新华网</span></div>
<div id="detail">{ps(paras)}</div><div class="editor">【责任编辑：王晓明】</div>
<div class="share">分享到：<a href="#">微信</a><a href="#">微博</a><a href="#">QQ空间</a></div>{related()}</div>
<div class="side">{hot_list()}<div class="ad"><a href="/ad/1"><img src="/ad.jpg"></a></div></div></div>{footer()}</body></html>"""


def t1(title, paras):  # people.cn-like, gb2312 via http-equiv
    return head(title, "gb2312", "http-equiv") + f"""<body><div class="w1000">{nav()}</div>
<div class="layout rm_txt cf"><div class="col col-1 fl"><div class="channel cf"><a href="/">人民网</a>&gt;&gt;<a href="/xj/">新疆频道</a></div>
<h1>{esc(title)}</h1><div class="col-1-1 fl">2026年11月30日08:27 | 来源：<a href="#">人民网－新疆频道</a></div>
<div class="rm_txt_con cf">{ps(paras, ' style="text-indent: 2em;"')}<div class="edit cf">(责编：李娜、张伟)</div></div>
<div class="box_news"><h2>推荐阅读</h2><ul>{''.join(f'<li><a href="/n1/2026/{i}.html">{esc(t)}</a></li>' for i, t in enumerate(HOT[:5]))}</ul></div></div>
<div class="col col-2 fr">{hot_list("ph_list")}</div></div>{footer()}</body></html>"""


def t2(title, paras):  # TRS government CMS, table layout
    return head(title, "utf-8", "http-equiv") + f"""<body><table width="1000" align="center"><tr><td>{nav()}</td></tr></table>
<table width="1000" align="center" class="main"><tr><td class="position">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <a href="/gzdt/">工作动态</a></td></tr>
<tr><td class="bt_title" align="center">{esc(title)}</td></tr><tr><td class="bt_info" align="center">发布时间：2026-11-30 来源：地区住建局 字号：[ <a href="#">大</a> <a href="#">中</a> <a href="#">小</a> ]</td></tr>
<tr><td class="bt_content"><div class="TRS_Editor"><div class="TRS_PreAppend">{ps(paras, ' style="text-indent:2em"')}</div></div></td></tr>
<tr><td class="bt_link">【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</td></tr></table>
<table width="1000" align="center" class="foot"><tr><td>主办单位：喀什地区行政公署办公室 承办单位：地区信息中心<br>网站标识码：6531000000 新ICP备00000000号</td></tr></table></body></html>"""


def t3(title, paras):  # thepaper-like: text with <br/><br/>, comments
    body = "<br/><br/>".join(esc(p) for p in paras)
    return head(title) + f"""<body><header>{nav()}</header><main><div class="newscontent"><h1 class="news_title">{esc(title)}</h1>
<div class="news_about"><p>澎湃新闻记者 陈静</p><p>2026-11-30 10:05 来源：澎湃新闻</p></div>
<div class="news_txt" data-size="standard">{body}</div><div class="news_editor">责任编辑：刘洋 图片编辑：张涛</div>
<div class="news_keyword">关键词 &gt;&gt; 农业, 加工</div></div>{comments()}<aside>{hot_list()}</aside></main>{footer()}</body></html>"""


def t4(title, paras):  # ts.cn-like: image with caption in the body
    figure = '<p style="text-align:center"><img src="/pic/2026/1130/01.jpg" alt=""></p><p class="pictext" style="text-align:center">图为地铁列车驶入车站。记者 赵磊摄</p>'
    return head(title) + f"""<body><div id="top">{nav()}</div><div class="wrap"><div class="left"><div class="location">您的位置：<a href="/">天山网</a> &gt; <a href="/xw/">新闻</a></div>
<div class="article"><h2>{esc(title)}</h2><div class="info">2026-11-30 11:02:01 来源：天山网 作者：赵磊 编辑：周敏</div>
<div class="article_content">{figure}{ps(paras[:1])}{ps(paras[1:])}</div>
<div class="bdsharebuttonbox"><a href="#" class="bds_weixin">微信</a><a href="#" class="bds_tsina">微博</a></div></div>{related(5)}</div>
<div class="right">{hot_list()}</div></div>{footer()}</body></html>"""


def t5(title, paras):  # wechat-article-like nested sections
    body = "".join(f'<section style="margin:0 8px"><p style="line-height:1.75"><span style="font-size:15px">{esc(p)}</span></p></section>' for p in paras)
    return head(title) + f"""<body><div id="page-content"><div class="rich_media_area_primary"><h1 class="rich_media_title" id="activity-name">{esc(title)}</h1>
<div id="meta_content" class="rich_media_meta_list"><span class="rich_media_meta rich_media_meta_text">伊犁发布</span><em id="publish_time">2026-11-30 19:30</em></div>
<div class="rich_media_content" id="js_content">{body}<section><p><span style="font-size:12px;color:#888">来源：伊犁日报</span></p><p><span style="font-size:12px;color:#888">编辑：马丽</span></p></section></div></div>
<div class="rich_media_tool"><a id="js_read_area">阅读</a><a id="like">在看</a></div><div class="qr_code_pc"><p>微信扫一扫关注该公众号</p></div></div></body></html>"""


def t6(title, paras):  # sina-like
    return head(title) + f"""<body><div class="top-nav">{nav()}</div><div class="main-content w1000"><h1 class="main-title">{esc(title)}</h1>
<div class="top-bar"><div class="date-source"><span class="date">2026年11月30日 12:31</span><a class="source" href="#">昌吉日报</a></div></div>
<div class="article" id="article">{ps(paras)}<p class="show_author">责任编辑：孙丽 SF001</p></div>
<div class="blk-related"><h3>相关阅读</h3>{related()}</div>{comments()}<div class="side">{hot_list("top-news")}<div class="ad-box">广告</div></div></div>{footer()}</body></html>"""


def t7(title, paras):  # old bingtuan CMS, GBK, uppercase tags, <font>
    body = "".join(f"<P>&nbsp;&nbsp;&nbsp;&nbsp;<FONT face=宋体>{esc(p)}</FONT></P>" for p in paras)
    return head(title, "gbk", "charset") + f"""<BODY><TABLE width=980 align=center><TR><TD>{nav()}</TD></TR></TABLE>
<DIV class=content_main><DIV class=title_l><FONT size=5><B>{esc(title)}</B></FONT></DIV><DIV class=info_l>2026-11-30 &nbsp; 来源：兵团日报 &nbsp; 点击：<SPAN id=hits>1024</SPAN></DIV>
<DIV class=content id=content>{body}</DIV><DIV class=pagelink>上一篇：<A href="/2026/1129/1.htm">{esc(HOT[2])}</A><BR>下一篇：<A href="/2026/1201/2.htm">{esc(HOT[4])}</A></DIV></DIV>
<DIV class=foot>{footer()}</DIV></BODY></HTML>"""


def t8(title, paras):  # netease-like with ads inside the body
    body = ps(paras[:2]) + '<div class="gg200x300"><a href="/ad/2">推广</a></div>' + ps(paras[2:])
    return head(title) + f"""<body><div class="N-nav">{nav()}</div><div class="post_main"><h1 class="post_title">{esc(title)}</h1>
<div class="post_info">2026-11-30 13:10:22　来源: <a href="#">新疆日报</a></div><div class="post_body">{body}
<p class="otitle">（原标题：{esc(title)}）</p></div><div class="post_statement">本文来源：新疆日报 责任编辑：王伟_NX1234</div>
<div class="tie-area"><h3>跟贴</h3>{comments()}</div><div class="post_side">{hot_list("mod_hot")}</div></div>{footer()}</body></html>"""


def t9(title, paras):  # sohu-hao-like
    return head(title) + f"""<body><div class="nav-wrap">{nav()}</div><div class="article-page"><div class="text"><div class="text-title"><h1>{esc(title)}</h1>
<div class="article-info"><span class="time">2026-11-30 14:20</span><span>来源: 吐鲁番零距离</span></div></div>
<article class="article" id="mp-editor">{ps(paras)}<p><a href="/?strategyid=1">返回搜狐，查看更多</a></p></article>
<div class="statement">平台声明：该文观点仅代表作者本人，搜狐号系信息发布平台，搜狐仅提供信息存储空间服务。</div></div>
<div class="sidebar">{hot_list("hot-article")}</div></div>{footer()}</body></html>"""


def t10(title, paras):  # cctv-like with video placeholder and QR
    return head(title) + f"""<body><div class="header_nav">{nav()}</div><div class="column_wrapper"><div class="title_area"><h1>{esc(title)}</h1>
<div class="info1">央视网 | 2026年11月30日 15:02</div></div><div class="content_area" id="content_area">
<div class="video_box"><div id="myFlash">视频播放器加载中……</div></div>{ps(paras)}</div>
<div class="zebian"><p>编辑：何静 责任编辑：刘亮</p></div><div class="erweima"><p>扫一扫，用手机看新闻！</p></div>{related(3)}</div>{footer()}</body></html>"""


def t11(title, paras):  # e-paper founder CMS
    body = "".join(f"<P>　　{esc(p)}</P>" for p in paras)
    return head(title) + f"""<body><div class="paper-nav"><a href="/node_1.htm">第01版：要闻</a> <a href="/node_2.htm">第02版：综合</a> <a href="/node_3.htm">第03版：经济</a></div>
<table><tr><td class="font01">{esc(title)}</td></tr><tr><td class="font02">本报记者 韩梅</td></tr>
<tr><td><div id="ozoom"><founder-content>{body}</founder-content></div></td></tr></table>
<div class="paper-list"><h3>本版新闻</h3><ul>{''.join(f'<li><a href="/content_{i}.htm">{esc(t)}</a></li>' for i, t in enumerate(HOT[:6]))}</ul></div>
<div>哈密日报社版权所有 地址：哈密市某路某号</div></body></html>"""


def t12(title, paras):  # dedecms with <br> and &nbsp; indentation
    body = "<br />\n".join("&nbsp;&nbsp;&nbsp;&nbsp;" + esc(p) for p in paras)
    return head(title, "gb2312", "charset") + f"""<body><div class="top">{nav()}</div><div class="w960 center"><div class="place"><strong>当前位置:</strong> <a href="/">主页</a> &gt; <a href="/news/">本地新闻</a> &gt;</div>
<div class="viewbox"><div class="title"><h2>{esc(title)}</h2></div><div class="info"><small>时间:</small>2026-11-30 16:00<small>来源:</small>库尔勒新闻网<small>作者:</small>编辑部<small>点击:</small>286 次</div>
<div class="content"><table width="100%"><tr><td><div id="contentMidPicAD" style="float:right"></div>{body}</td></tr></table></div>
<div class="boxoff"><strong>------分隔线----------------------------</strong></div><div class="context"><ul><li>上一篇：<a href="/news/1.html">{esc(HOT[0])}</a></li><li>下一篇：没有了</li></ul></div></div></div>{footer()}</body></html>"""


def t13(title, paras):  # long comment section, longer than the article
    many = comments() + comments().replace("网友", "用户")
    return head(title) + f"""<body>{nav()}<div class="detail"><h1>{esc(title)}</h1><p class="meta">2026-11-30 17:45 克拉玛依日报</p>
<div class="detail-content">{ps(paras)}</div></div><div class="comments-wrap"><h2>热门评论（128）</h2>{many}</div>{hot_list()}{footer()}</body></html>"""


def t14(title, paras):  # "延伸阅读" box inside the body
    box = '<div class="extend"><strong>延伸阅读：</strong><ul>' + "".join(
        f'<li><a href="/2026/11/1{i}/c_{7000 + i}.htm">{esc(t)}</a></li>' for i, t in enumerate(HOT[3:6])
    ) + "</ul></div>"
    return head(title) + f"""<body>{nav()}<div class="container"><h1>{esc(title)}</h1><div class="source">2026-11-30 来源：博州零距离</div>
<div class="TRS_Editor">{ps(paras[:2])}{box}{ps(paras[2:])}</div><div class="editor">编辑：阿依古丽</div></div>{hot_list()}{footer()}</body></html>"""


def t15(title, paras):  # mobile page
    return head(title) + f"""<body><div class="m-header"><a href="/">返回首页</a><span>新闻</span></div><div class="art-wrap"><h1 class="art-title">{esc(title)}</h1>
<div class="art-info"><span>阿克苏零距离</span><span>2026-11-30</span></div><div class="art-con">{ps(paras)}</div>
<div class="open-app"><a href="app://open">打开APP阅读全文</a></div><div class="m-related"><h4>推荐</h4>{related(4)}</div></div>
<div class="m-footer">阿克苏零距离 © 2026</div></body></html>"""


def t16(title, paras):  # chinanews-like
    return head(title) + f"""<body><div id="navbar">{nav()}</div><div class="con_left"><div class="content"><h1>{esc(title)}</h1>
<div class="left-time"><div class="left-t">2026年11月30日 20:14　来源：中国新闻网　<a href="#">参与互动</a></div></div>
<div class="left_zw" style="position:relative">{ps(paras)}<div class="adInContent"></div><div class="left_name"><div class="left_name">【编辑:田博群】</div></div></div>
<div id="function_code_page"></div><div class="share-box">分享到：<a>人民微博</a><a>微信</a></div></div></div><div class="con_right">{hot_list("rank")}</div>{footer()}</body></html>"""


def t17(title, paras):  # ifeng-like
    return head(title) + f"""<body><div class="header-3ORNMfak">{nav()}</div><div class="artical-25JfwmD5"><h1 class="topic-3bY8Hw-9">{esc(title)}</h1>
<div class="info-3Ht6Fk1n"><span class="time-1mgs_kqd">2026-11-30 21:03:10</span><span class="source-3cecBclA">来自 新疆日报</span></div>
<div class="main_content-r5RGqegj"><div class="text-3w2e3DBc">{ps(paras)}</div><p class="editor-2-fIGYl_">[责任编辑：刘晓 PN129]</p></div>
<div class="disclaimer">特别声明：以上文章内容仅代表作者本人观点，不代表凤凰网观点或立场。</div>{comments()}</div><div class="side-2j0_yaX4">{hot_list("hot-2pZ")}</div>{footer()}</body></html>"""


def t18(title, paras):  # toutiao-like
    return head(title) + f"""<body><div class="top-bar">{nav()}</div><div class="article-detail-container"><h1>{esc(title)}</h1>
<div class="article-meta"><span>2026-11-30 21:30</span><span class="name"><a href="/c/user/1/">新疆网</a></span><a class="report">举报</a></div>
<article class="syl-article-base tt-article-content syl-page-article">{ps(paras)}</article></div><div class="right-sidebar">{hot_list("hot-board")}</div></body></html>"""


def t19(title, paras):  # gov site with UCAP-CONTENT and a QR line
    return head(title, "utf-8", "http-equiv") + f"""<body><div class="gov-head">{nav()}</div><div class="article oneColumn pub_border"><h1>{esc(title)}</h1>
<div class="pages-date">2026-11-30 22:00 <span class="font">来源：奎屯市人民政府</span> <span class="font index_switchsize">【字体：<a>大</a> <a>中</a> <a>小</a>】</span></div>
<div class="pages_content" id="UCAP-CONTENT">{ps(paras, ' style="text-indent: 2em;"')}</div>
<div class="pages_print"><a href="javascript:window.print()">【打印】</a><a>【关闭】</a><div class="mobile_code">扫一扫在手机打开当前页</div></div></div>
<div class="gov-foot">主办：奎屯市人民政府办公室 网站标识码：6540030000 新ICP备00000000号</div></body></html>"""


def t20(title, paras):  # e-paper with a byline paragraph inside the body
    return head(title, "gb2312", "http-equiv") + f"""<body><div class="bmnav"><a>第05版：地州新闻</a></div><div class="article"><h3>{esc(title)}</h3>
<div class="content" id="ozoom">{ps(paras)}</div></div><div class="bmlist">{related(5)}</div><div>新疆日报社版权所有</div></body></html>"""


TEMPLATES = [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15]
HELD_OUT_TEMPLATES = [t16, t17, t18, t19, t20]
ENCODINGS = {1: "gbk", 7: "gbk", 12: "gbk", 20: "gbk"}
EXPECTED_DROPS = {20: ["□ 本报记者 王磊"]}  # a byline is not body


def main() -> None:
    pairs = list(zip(ARTICLES + HELD_OUT, TEMPLATES + HELD_OUT_TEMPLATES, strict=True))
    for i, ((title, paras), template) in enumerate(pairs):
        page = template(title, paras)
        (HERE / f"{i:02d}.html").write_bytes(page.encode(ENCODINGS.get(i, "utf-8")))
        expected = [p for p in paras if p not in EXPECTED_DROPS.get(i, [])]
        (HERE / f"{i:02d}.txt").write_text("\n".join([title, *expected]) + "\n", "utf-8")


if __name__ == "__main__":
    main()
