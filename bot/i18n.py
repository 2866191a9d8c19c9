"""Every user-facing string, once per language (zh is the default, en the alternative).

Strings are Telegram-HTML templates: placeholders are filled with already-escaped values by the
callers (``bot.render`` escapes every user and article string).
"""

from __future__ import annotations

from html import escape

from digests.errors import DigestError

ZH: dict[str, str] = {
    "start": (
        "你好！我是<b>文章摘要机器人</b>。\n\n"
        "· 发送关键词，或 /search 关键词，查找文章\n"
        "· /region 地名（如 喀什、六师、兵团）按地区查找\n"
        "· /regions 浏览地区 · /latest 最新文章\n"
        "· /subscribe 订阅新文章（可加关键词或地区）\n"
        "· /settings 语言和推送方式 · /help 帮助"
    ),
    "help": (
        "<b>用法</b>\n"
        '/search 第一书记 — 关键词搜索（多个词 = 全部包含；"短语"；-排除词）\n'
        "/region 喀什 — 该地区及其下辖地区的文章\n"
        "/regions — 按层级浏览地区\n"
        "/latest — 最新文章 · /article ID — 文章摘要\n"
        "/subscribe [关键词/地区] [daily 08:00] — 订阅（不加条件 = 全部）\n"
        "/subscriptions — 我的订阅 · /unsubscribe [编号|all]\n"
        "/settings — 语言、推送方式\n"
        "在任何聊天中输入 @{bot} 关键词 也可以搜索。"
    ),
    "cmd_start": "开始",
    "cmd_help": "帮助",
    "cmd_search": "关键词搜索",
    "cmd_region": "按地区查找",
    "cmd_regions": "浏览地区",
    "cmd_latest": "最新文章",
    "cmd_article": "查看文章摘要",
    "cmd_subscribe": "订阅新文章",
    "cmd_subscriptions": "我的订阅",
    "cmd_unsubscribe": "取消订阅",
    "cmd_settings": "设置",
    "cmd_stats": "统计（管理员）",
    "cmd_pending": "待发送（管理员）",
    "cmd_retry": "重试失败推送（管理员）",
    "search_usage": "请在 /search 后面输入关键词，例如：/search 第一书记",
    "region_usage": "请在 /region 后面输入地名，例如：/region 喀什",
    "article_usage": "请在 /article 后面输入文章编号。",
    "no_results": "没有找到与 <b>{query}</b> 相关的文章。",
    "results_header": "<b>{query}</b>：共 {count}，{span}",
    "about": "约 ",
    "region_header": "<b>{place}</b>：共 {count}，{span}",
    "region_empty": "<b>{place}</b>：暂时没有提到这个地区的文章。",
    "region_unknown": "没有找到地名 <b>{query}</b>。",
    "region_suggest": "您是不是要找：",
    "region_choose": "<b>{query}</b> 对应多个地方，请选择：",
    "latest_header": "<b>最新文章</b>：共 {count}，{span}",
    "empty_corpus": "还没有文章。",
    "regions_title": "<b>浏览地区</b>（括号内为文章数）",
    "regions_here": "查看 {place} 的文章（{count}）",
    "regions_up": "« 上一级",
    "prev": "‹ 上一页",
    "next": "下一页 ›",
    "open": "{n}. 摘要",
    "full_summary": "完整摘要",
    "expired": "这个结果列表已过期，请重新搜索。",
    "article_missing": "没有编号为 {id} 的文章。",
    "summary": "<b>摘要</b>",
    "keywords": "关键词：",
    "regions": "地区：",
    "source": "来源：",
    "added": "收录于",
    "query_error": "{error}",
    "subscribed": "已订阅：{what}。\n推送方式：{mode}。有新文章时会发送到这里。",
    "subscribed_everything": "全部新文章",
    "subscribed_channel": "频道 {channel} 已订阅：{what}。推送方式：{mode}。",
    "sub_ambiguous": "提示：{word} 有多个地方，已选择 {chosen}。",
    "sub_duplicate": "已经有相同的订阅了。",
    "subscriptions_none": "还没有订阅。用 /subscribe 订阅新文章。",
    "subscriptions_list": "<b>订阅列表</b>（点击按钮取消）：",
    "unsubscribed": "已取消 {count}。",
    "unsubscribe_usage": "用法：/unsubscribe 编号 或 /unsubscribe all（编号见 /subscriptions）",
    "unsubscribe_none": "没有找到这个订阅。",
    "not_admin": "抱歉，只有本群管理员才能管理订阅。搜索功能所有人都可以使用。",
    "channel_not_admin": "抱歉，只有频道 {channel} 的管理员才能为它订阅。",
    "channel_bot_cannot_post": "我还不能在频道 {channel} 发消息：请把我设为频道管理员并允许发消息。",
    "channel_unknown": "找不到频道 {channel}，请确认用户名，并先把我加为频道管理员。",
    "settings": "<b>设置</b>\n语言：{language}\n推送方式：{mode}",
    "settings_saved": "设置已保存。",
    "lang_zh": "中文",
    "lang_en": "English",
    "mode_instant": "即时推送",
    "mode_daily": "每日摘要 {time}",
    "error": "抱歉，出了点问题，请稍后再试。",
    "too_long_query": "查询太长，只使用了前 {n} 个字。",
    "mentions": "{n} 次",
    "inline_empty": "没有找到文章",
    "digest_header": "<b>每日摘要</b> · {date} · {n} 篇新文章",
    "digest_continued": "<b>每日摘要（续）</b> · {date}",
    "admin_only": "抱歉，这个命令只有管理员可以使用。",
    "admin_stats": (
        "<b>统计</b>\n文章：{articles}\n订阅者：{subscribers}（暂停 {paused}）\n"
        "已发送：{sent} · 待发送：{pending} · 失败：{dead} · 跳过：{skipped}\n上次检查语料：{last_poll}"
    ),
    "admin_pending": "<b>待发送</b>：{pending}（{chats} 个聊天）\n<b>失败</b>：{dead}",
    "admin_dead_line": "· 聊天 {chat} · 文章 {seq} · {error}",
    "admin_retry": "已重新排队 {n} 条失败的推送。",
    "upload_only_admins": "抱歉，只有管理员可以添加文章。",
    "upload_bad_type": "只接受 .txt、.md、.json、.jsonl 文件。",
    "upload_too_large": "文件太大（上限 2 MB）。",
    "upload_result": "已添加 {added} 篇，重复 {duplicates} 篇，拒绝 {rejected} 篇。",
    "upload_rejected_line": "· {file}：{reason}",
    "never": "从未",
    # -- front: engine errors by code, buttons, commands, plurals (keep this block together) --
    "err_query_empty": "请输入要查找的词。",
    "err_query_only_exclusions": "查询至少要包含一个要查找的词，不能只有排除词（-词）。",
    "err_query_only_common": "查询只有很常见的词（{words}），请加一个更具体的词。",
    "err_query_no_words": "查询里没有可以查找的词，只有符号。",
    "err_unknown_region_code": "没有编号为 {code} 的地区。",
    "err_unknown_place": "没有找到地名 <b>{name}</b>。",
    "err_unknown_region": "没有找到地名 <b>{term}</b>。",
    "err_filter_too_long": "条件太长（最多 {max} 个字）：{term}",
    "err_empty_source": "来源条件要写来源名称，例如 source:新华网（现在是 {term}）。",
    "err_filter_too_many": "每个订阅最多 {max} 个关键词和地区。",
    "err_bad_time": "时间格式不对：{value}。请用 24 小时制 HH:MM，例如 daily 08:00。",
    "err_bad_setting": "无法识别的设置：{word}。可用：zh、en、instant、daily HH:MM、tz 时区、quiet HH:MM-HH:MM。",
    "err_generic": "抱歉，无法完成这个请求。",
    "sub_refused": "没有订阅。{reason}",
    "sub_did_you_mean": "您是不是要找：{names}",
    "sub_use_kw": "按关键词订阅请写 kw:{term}",
    "button_invalid": "这个按钮已失效，请重新发送命令。",
    "unknown_command": "没有 {command} 这个命令，发送 /help 查看可用的命令。",
    "published": "发布于",
    "n_articles": "{n} 篇",
    "n_subscriptions": "{n} 个订阅",
    "page_span": "第 {first}–{last} 篇",
    "page_one": "第 {first} 篇",
}

EN: dict[str, str] = {
    "start": (
        "Hello! I am the <b>article digest bot</b>.\n\n"
        "· Send keywords, or /search words, to find articles\n"
        "· /region place (e.g. 喀什, 六师, 兵团) finds articles by region\n"
        "· /regions browses places · /latest shows the newest articles\n"
        "· /subscribe to new articles (optionally by keywords or regions)\n"
        "· /settings for language and delivery · /help"
    ),
    "help": (
        "<b>How to use</b>\n"
        '/search 第一书记 — keyword search (several words = all of them; "phrase"; -exclude)\n'
        "/region 喀什 — articles about a place or anywhere inside it\n"
        "/regions — browse the places\n"
        "/latest — newest articles · /article ID — an article's summary\n"
        "/subscribe [keywords/regions] [daily 08:00] — subscribe (no filter = everything)\n"
        "/subscriptions — your subscriptions · /unsubscribe [n|all]\n"
        "/settings — language and delivery\n"
        "Type @{bot} words in any chat to search from there."
    ),
    "cmd_start": "Start",
    "cmd_help": "Help",
    "cmd_search": "Keyword search",
    "cmd_region": "Articles by region",
    "cmd_regions": "Browse regions",
    "cmd_latest": "Newest articles",
    "cmd_article": "An article's summary",
    "cmd_subscribe": "Subscribe to new articles",
    "cmd_subscriptions": "Your subscriptions",
    "cmd_unsubscribe": "Unsubscribe",
    "cmd_settings": "Settings",
    "cmd_stats": "Stats (admins)",
    "cmd_pending": "Pending deliveries (admins)",
    "cmd_retry": "Retry failed deliveries (admins)",
    "search_usage": "Type words after /search, e.g. /search 第一书记",
    "region_usage": "Type a place name after /region, e.g. /region 喀什",
    "article_usage": "Type an article id after /article.",
    "no_results": "No articles match <b>{query}</b>.",
    "results_header": "<b>{query}</b>: {count}, {span}",
    "about": "about ",
    "region_header": "<b>{place}</b>: {count}, {span}",
    "region_empty": "<b>{place}</b>: no article mentions this place yet.",
    "region_unknown": "No place called <b>{query}</b>.",
    "region_suggest": "Did you mean:",
    "region_choose": "<b>{query}</b> names several places; choose one:",
    "latest_header": "<b>Newest articles</b>: {count} in all, {span}",
    "empty_corpus": "There are no articles yet.",
    "regions_title": "<b>Browse regions</b> (articles in brackets)",
    "regions_here": "Articles in {place} ({count})",
    "regions_up": "« Up",
    "prev": "‹ Previous",
    "next": "Next ›",
    "open": "{n}. Summary",
    "full_summary": "Full summary",
    "expired": "This result list has expired; please search again.",
    "article_missing": "There is no article {id}.",
    "summary": "<b>Summary</b>",
    "keywords": "Keywords: ",
    "regions": "Regions: ",
    "source": "Source: ",
    "added": "Added",
    "query_error": "{error}",
    "subscribed": "Subscribed: {what}.\nDelivery: {mode}. New articles will be posted here.",
    "subscribed_everything": "all new articles",
    "subscribed_channel": "Channel {channel} subscribed: {what}. Delivery: {mode}.",
    "sub_ambiguous": "Note: {word} names several places; I chose {chosen}.",
    "sub_duplicate": "You already have the same subscription.",
    "subscriptions_none": "No subscriptions yet. Use /subscribe to get new articles.",
    "subscriptions_list": "<b>Subscriptions</b> (tap a button to remove):",
    "unsubscribed": "Removed {count}.",
    "unsubscribe_usage": "Usage: /unsubscribe n or /unsubscribe all (numbers as in /subscriptions)",
    "unsubscribe_none": "No such subscription.",
    "not_admin": "Sorry, only this group's administrators can manage its subscriptions. Anyone may search.",
    "channel_not_admin": "Sorry, only administrators of {channel} can subscribe it.",
    "channel_bot_cannot_post": "I cannot post in {channel} yet: make me an administrator allowed to post messages.",
    "channel_unknown": "I cannot find the channel {channel}: check the username and add me as an administrator first.",
    "settings": "<b>Settings</b>\nLanguage: {language}\nDelivery: {mode}",
    "settings_saved": "Settings saved.",
    "lang_zh": "中文",
    "lang_en": "English",
    "mode_instant": "instant",
    "mode_daily": "daily digest at {time}",
    "error": "Sorry, something went wrong. Please try again later.",
    "too_long_query": "The query was too long; only its beginning was used (character limit: {n}).",
    "mentions": "{n}×",
    "inline_empty": "No articles found",
    "digest_header": "<b>Daily digest</b> · {date} · new articles: {n}",
    "digest_continued": "<b>Daily digest (continued)</b> · {date}",
    "admin_only": "Sorry, this command is for administrators only.",
    "admin_stats": (
        "<b>Stats</b>\nArticles: {articles}\nSubscribers: {subscribers} ({paused} paused)\n"
        "Sent: {sent} · pending: {pending} · failed: {dead} · skipped: {skipped}\nLast corpus poll: {last_poll}"
    ),
    "admin_pending": "<b>Pending</b>: {pending} (chats: {chats})\n<b>Failed</b>: {dead}",
    "admin_dead_line": "· chat {chat} · article {seq} · {error}",
    "admin_retry": "Failed deliveries queued again: {n}.",
    "upload_only_admins": "Sorry, only administrators can add articles.",
    "upload_bad_type": "Only .txt, .md, .json and .jsonl files are accepted.",
    "upload_too_large": "The file is too large (2 MB at most).",
    "upload_result": "Added {added}, duplicates {duplicates}, rejected {rejected}.",
    "upload_rejected_line": "· {file}: {reason}",
    "never": "never",
    # -- front: engine errors by code, buttons, commands, plurals (keep this block together) --
    "err_query_empty": "Type a word to search for.",
    "err_query_only_exclusions": "A query needs at least one word to include, not only -exclusions.",
    "err_query_only_common": "The query has only very common words ({words}); add a more specific word.",
    "err_query_no_words": "Nothing to search for: the query has no words, only symbols.",
    "err_unknown_region_code": "There is no region {code}.",
    "err_unknown_place": "No place called <b>{name}</b>.",
    "err_unknown_region": "No place called <b>{term}</b>.",
    "err_filter_too_long": "Too long (character limit: {max}): {term}",
    "err_empty_source": "A source filter needs a name, e.g. source:新华网 (got {term}).",
    "err_filter_too_many": "At most {max} keywords and regions per subscription.",
    "err_bad_time": "Not a time of day: {value}. Use 24-hour HH:MM, e.g. daily 08:00.",
    "err_bad_setting": "Unknown setting: {word}. Available: zh, en, instant, daily HH:MM, tz ZONE, quiet HH:MM-HH:MM.",
    "err_generic": "Sorry, that request cannot be done.",
    "sub_refused": "Nothing subscribed. {reason}",
    "sub_did_you_mean": "Did you mean: {names}",
    "sub_use_kw": "To subscribe to a keyword, write kw:{term}",
    "button_invalid": "This button is no longer valid; please send the command again.",
    "unknown_command": "There is no command {command}; send /help to see the commands.",
    "published": "Published",
    "n_articles_one": "1 article",
    "n_articles": "{n} articles",
    "n_subscriptions_one": "1 subscription",
    "n_subscriptions": "{n} subscriptions",
    "page_span": "{first}–{last}",
    "page_one": "{first}",
}

# -- delivery settings: modes, time zone, quiet hours, forum topics (owner: delivery) ------------
ZH.update(
    {
        "delivery_bad_settings": "这个聊天的推送设置无法使用，已暂停推送。请用 /settings 重新设置。",
        "err_bad_mode": "推送方式无效：{value}（instant 或 daily HH:MM）。",
        "err_bad_timezone": "无法识别时区：{value}（例如 Asia/Urumqi、+8、UTC+05:30）。",
        "err_bad_quiet": "免打扰时段无效：{value}（例如 /settings quiet 23:00-07:00 或 quiet off）。",
        "settings_zone": "时区：{zone}",
        "settings_quiet": "免打扰：{quiet}",
        "quiet_off": "未设置",
        "sub_mode_changed": "已修改订阅 {what} 的推送方式：{mode}。",
        "sub_paused": "（已暂停：{reason}）",
        "settings_hint": "修改：/settings tz Asia/Urumqi（或 +8）· /settings quiet 23:00-07:00（或 off）· /settings daily 09:00",
        "settings_mode_applied": "默认推送方式：{mode}。跟随默认的 {count}已改变，单独设置的订阅不变。",
    }
)
EN.update(
    {
        "delivery_bad_settings": "This chat's delivery settings cannot be used, so delivery is paused. Set them again with /settings.",
        "err_bad_mode": "Invalid delivery mode: {value} (instant or daily HH:MM).",
        "err_bad_timezone": "Unknown time zone: {value} (e.g. Asia/Urumqi, +8, UTC+05:30).",
        "err_bad_quiet": "Invalid quiet hours: {value} (e.g. /settings quiet 23:00-07:00 or quiet off).",
        "settings_zone": "Time zone: {zone}",
        "settings_quiet": "Quiet hours: {quiet}",
        "quiet_off": "off",
        "sub_mode_changed": "Delivery of {what} changed to: {mode}.",
        "sub_paused": " (paused: {reason})",
        "settings_hint": "Change: /settings tz Asia/Urumqi (or +8) · /settings quiet 23:00-07:00 (or off) · /settings daily 09:00",
        "settings_mode_applied": "Default delivery: {mode}. Changed: {count} following the default; those with their own mode kept it.",
    }
)

# -- resilience: flooding, ingest rejections, clear errors (owned by bot.updates / bot.admin) --
ZH.update(
    {
        "throttled": "请求太多，请 {seconds} 秒后再试。",
        "upload_progress": "正在导入 {name}：已添加 {added} 篇……",
        "upload_more_rejected": "· 另有 {n} 条被拒绝",
        "upload_interrupted": "导入被中断（机器人正在停止），重启后继续。",
        "cmd_remove": "删除文章（管理员）",
        "remove_usage": "请在 /remove 后面输入文章编号。",
        "remove_not_found": "没有编号为 {id} 的文章。",
        "removed": "已删除文章 {id}：{title}",
        "indexing": "正在建立索引：已处理 {done} / {total} 个文件，请稍后再试。",
    }
)
EN.update(
    {
        "throttled": "Too many requests; please wait {seconds} s.",
        "upload_progress": "Importing {name}: {added} added so far…",
        "upload_more_rejected": "· and {n} more rejected",
        "upload_interrupted": "The import was interrupted (the bot is stopping); it resumes after the restart.",
        "cmd_remove": "remove an article (administrators)",
        "remove_usage": "Type an article id after /remove.",
        "remove_not_found": "There is no article with id {id}.",
        "removed": "Removed article {id}: {title}",
        "indexing": "Indexing the corpus: files done so far {done}/{total}; please try again shortly.",
    }
)

# -- sources (bot/sources.py) -------------------------------------------------------------------
ZH.update({
    "cmd_source": "信息源（管理员）",
    "src_usage": (
        "<b>信息源</b>（管理员）\n/source add 网址|rsshub://路由 [名称] — 添加 RSS/Atom/JSON Feed 或网页\n"
        "/source list — 列表与状态\n/source pause|resume|check|remove 编号\n"
        "/source export — 导出 OPML；发送 .opml 文件即可导入"
    ),
    "src_added": "已添加信息源 #{id} <b>{name}</b>（{kind}，当前 {items} 条）。首次抓取的内容只入库、不推送。",
    "src_added_problem": "注意：{problem}",
    "src_add_failed": "无法添加 {url}：{reason}",
    "src_why_refused": "不允许访问该地址（本机、内网或非 http(s) 地址）。[{detail}]",
    "src_why_timeout": "对方网站响应超时。[{detail}]",
    "src_why_large": "内容过大（订阅源上限 5 MB，网页 2 MB）。[{detail}]",
    "src_why_http": "网站返回错误。[{detail}]",
    "src_why_network": "无法连接该网站。[{detail}]",
    "src_why_exists": "这个信息源已经添加过了。[{detail}]",
    "src_why_content": "没有找到订阅源或文章内容。[{detail}]",
    "src_none": "还没有信息源。用 /source add 网址 添加。",
    "src_list_header": "<b>信息源</b>（{n} 个）",
    "src_line": "#{id} <b>{name}</b> · {kind} · {status} · {items} 条 · 上次成功 {success}",
    "src_line_error": "   ⚠️ {error}",
    "src_status_active": "正常",
    "src_status_paused": "已暂停",
    "src_status_disabled": "已停用",
    "src_btn_pause": "⏸ #{id}",
    "src_btn_resume": "▶️ #{id}",
    "src_btn_check": "立即检查",
    "src_btn_remove": "删除",
    "src_unknown": "没有编号为 {id} 的信息源。",
    "src_paused": "已暂停 <b>{name}</b>。",
    "src_resumed": "已恢复 <b>{name}</b>。",
    "src_removed": "已删除 <b>{name}</b>（已入库的文章保留）。",
    "src_checked": "<b>{name}</b>：新增 {added} 篇，静默入库 {quiet} 篇。",
    "src_check_failed": "<b>{name}</b> 抓取失败：{error}",
    "src_opml_bad": "无法读取 OPML 文件：{reason}",
    "src_importing": "正在检查 OPML 中的 {n} 个订阅源……",
    "src_imported": "OPML 导入：添加 {added} 个，失败 {failed} 个。",
    "src_import_failed_line": "· {url}：{error}",
    "src_disabled_notice": "信息源 #{id} <b>{name}</b> 连续多日抓取失败，已停用：{error}\n修复后可用 /source resume {id} 恢复。",
    "also_reported": "另见：{sources}",
})
EN.update({
    "cmd_source": "Sources (admins)",
    "src_usage": (
        "<b>Sources</b> (admins)\n/source add URL|rsshub://route [name] — add an RSS/Atom/JSON feed or a web page\n"
        "/source list — list and status\n/source pause|resume|check|remove ID\n"
        "/source export — OPML export; send an .opml file to import"
    ),
    "src_added": "Added source #{id} <b>{name}</b> ({kind}, {items} items now). Its first fetch is stored, not pushed.",
    "src_added_problem": "Note: {problem}",
    "src_add_failed": "Cannot add {url}: {reason}",
    "src_why_refused": "that address is not allowed (this machine, a private network, or not http(s)). [{detail}]",
    "src_why_timeout": "the site did not answer in time. [{detail}]",
    "src_why_large": "the response is too large (5 MB for feeds, 2 MB for pages). [{detail}]",
    "src_why_http": "the site answered with an error. [{detail}]",
    "src_why_network": "cannot connect to the site. [{detail}]",
    "src_why_exists": "this source is there already. [{detail}]",
    "src_why_content": "no feed or article found there. [{detail}]",
    "src_none": "No sources yet. Add one with /source add URL.",
    "src_list_header": "<b>Sources</b> ({n})",
    "src_line": "#{id} <b>{name}</b> · {kind} · {status} · {items} items · last success {success}",
    "src_line_error": "   ⚠️ {error}",
    "src_status_active": "active",
    "src_status_paused": "paused",
    "src_status_disabled": "disabled",
    "src_btn_pause": "⏸ #{id}",
    "src_btn_resume": "▶️ #{id}",
    "src_btn_check": "Check now",
    "src_btn_remove": "Remove",
    "src_unknown": "There is no source #{id}.",
    "src_paused": "Paused <b>{name}</b>.",
    "src_resumed": "Resumed <b>{name}</b>.",
    "src_removed": "Removed <b>{name}</b> (its articles stay).",
    "src_checked": "<b>{name}</b>: {added} new, {quiet} stored quietly.",
    "src_check_failed": "<b>{name}</b> failed: {error}",
    "src_opml_bad": "Cannot read the OPML file: {reason}",
    "src_importing": "Checking the feeds of the OPML file ({n})…",
    "src_imported": "OPML import: {added} added, {failed} failed.",
    "src_import_failed_line": "· {url}: {error}",
    "src_disabled_notice": "Source #{id} <b>{name}</b> has failed for days and is disabled: {error}\nFix it, then /source resume {id}.",
    "also_reported": "Also reported by: {sources}",
})

TEXTS = {"zh": ZH, "en": EN}


def t(lang: str, key: str, **values: object) -> str:
    """The ``key`` string in ``lang`` (falling back to Chinese), formatted with ``values``."""
    template = TEXTS.get(lang, ZH).get(key) or ZH[key]
    return template.format(**values) if values else template


def tn(lang: str, key: str, n: int, **values: object) -> str:
    """``key`` for the count ``n``: ``key_one`` when ``n`` is 1 and the language has that form."""
    table = TEXTS.get(lang, ZH)
    chosen = f"{key}_one" if n == 1 and f"{key}_one" in table else key
    return t(lang, chosen, n=f"{n:,}", **values)


def page_span(lang: str, first: int, last: int) -> str:
    """``第 1–5 篇`` / ``1–5``, or ``第 3 篇`` / ``3`` for a page of one."""
    return t(lang, "page_one" if first == last else "page_span", first=first, last=last)


MAX_VALUE = 60  # characters of a user's value quoted back in an error


def error_text(lang: str, error: DigestError) -> str:
    """An engine error in ``lang``: ``err_<code>`` filled with the error's values (escaped)."""
    key = f"err_{error.code}"
    if key not in ZH:
        return t(lang, "err_generic")
    raw = dict(error.values)
    if "value" not in raw and hasattr(error, "value"):  # errors that keep their value apart
        raw["value"] = error.value
    values = _Blank({k: escape(_plain(v)[:MAX_VALUE], quote=False) for k, v in raw.items()})
    return (TEXTS.get(lang, ZH).get(key) or ZH[key]).format_map(values)


class _Blank(dict[str, str]):
    """Values for a template where one the error did not give is left empty, not a KeyError."""

    def __missing__(self, key: str) -> str:
        return ""


def _plain(value: object) -> str:
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


# Why a file was not ingested (``RejectedInput.reason``, English from digests/formats.py), in
# Chinese: fixed reasons whole, the ones with a value by their start (the value kept).
_REJECTION_ZH: dict[str, str] = {
    "empty file": "空文件",
    "undecodable UTF-16": "无法解码的 UTF-16",
    "binary file (contains NUL bytes)": "二进制文件（含 NUL 字节）",
    "binary file (control characters)": "二进制文件（含控制字符）",
    "undecodable: neither UTF-8 nor GB18030": "无法解码：既不是 UTF-8 也不是 GB18030",
    "nested too deeply": "嵌套太深",
    "no title": "没有标题",
    "no body (title only or too short)": "没有正文（只有标题或太短）",
    "not a JSON object": "不是 JSON 对象",
    'missing "title"': "缺少 \"title\"",
    'missing "text"': "缺少 \"text\"",
    "empty JSON list": "空的 JSON 列表",
    "no such file or folder": "没有这个文件或文件夹",
}
_REJECTION_PREFIX_ZH: tuple[tuple[str, str], ...] = (
    ("too large", "文件太大"),
    ("malformed JSON", "JSON 格式错误"),
    ("unreadable", "无法读取"),
    ("analysis failed", "分析失败"),
)


def rejection_text(lang: str, reason: str) -> str:
    """A rejected file's reason in ``lang`` (plain text; the caller escapes it)."""
    if lang == "en":
        return reason
    if reason in _REJECTION_ZH:
        return _REJECTION_ZH[reason]
    for prefix, zh in _REJECTION_PREFIX_ZH:
        if reason.startswith(prefix):
            return zh + reason[len(prefix) :]
    return reason


def mode_label(lang: str, mode: object) -> str:
    """A stored or parsed mode in words (an unreadable stored mode is shown as it is)."""
    from digests.modes import Mode, SettingError

    try:
        parsed = mode if isinstance(mode, Mode) else Mode.parse(str(mode))
    except SettingError:
        return str(mode)
    if parsed.daily:
        return t(lang, "mode_daily", time=parsed.time)
    return t(lang, "mode_instant")
