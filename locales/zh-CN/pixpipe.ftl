# pixpipe 面向用户的提示（简体中文）。每条都与 en/pixpipe.ftl 一一对应，
# 占位符相同（由单元测试检查）。上传相关的说法沿用图床上传页的用语。

## 运行结束时的汇总

msg-state-written = 已写入 { $n } 个
msg-state-uploaded = 已上传 { $n } 个
msg-state-already_there = { $n } 个已在目标中
msg-state-duplicate = { $n } 个内容重复
msg-state-skipped = 跳过 { $n } 个
msg-state-failed = 失败 { $n } 个
msg-state-not_started = { $n } 个未开始
msg-would-write = 将写入 { $n } 个
msg-would-upload = 将上传 { $n } 个
msg-possibly-duplicated = { $n } 个可能重复
msg-files-left-to-others = { $n } 个文件由其他工作进程处理
msg-list-separator = ，
msg-summary = { $counts }，用时 { $seconds } 秒：读取 { $read }，{ $verb } { $sent }，每秒 { $rate } 个文件
msg-verb-sent = 发送
msg-verb-written = 写入
msg-see-report = ——详见报告
msg-see-file = ——详见 { $file }
msg-stopped = 发生了某些错误,系统无法处理您的请求。{ $why }
msg-interrupted = 已中断；已完成的文件都已记录，再次运行即可继续
msg-done-uploaded = 上传完毕
msg-done-nothing-uploaded = 没有 文件被上传
msg-some-failed = 注意:部分文件无法上传。
msg-see-errors = 检查 错误报告 更多信息.

## 预览一次运行（pixpipe plan）

msg-plan-new = 新文件：    { $n }（{ $bytes }）
msg-plan-already-there = 已在目标中：{ $n }
msg-plan-duplicate = 内容重复：  { $n }
msg-plan-skipped = 跳过：      { $n }
msg-plan-failed = 失败：      { $n }

## 进度行与单个文件的提示

msg-progress = 已处理 { $done }/{ $found } 个文件，读取 { $read }，每秒 { $rate } 个
msg-progress-upload = 上传 { $done } 文件 ({ $percent }% 完成)，共 { $found } 个，读取 { $read }，每秒 { $rate } 个
msg-rate = 读取 { $read }，每秒 { $rate } 个
msg-queued = 队列上传中. 顷刻间便能完成.
msg-file-failed = { $path }：失败：{ $reason }
msg-file-state = { $path }：{ $state }
msg-file-state-why = { $path }：{ $state }（{ $reason }）
msg-unknown-error = 未知错误
msg-word-written = 已写入
msg-word-uploaded = 已上传
msg-word-already_there = 已在目标中
msg-word-duplicate = 内容重复
msg-word-skipped = 已跳过
msg-word-failed = 失败
msg-word-pending = 结果未知
msg-word-not_started = 未开始

## 文件为何如此结束

msg-reason-not-media = 不是支持的图片或视频（文件开头为 { $head }）
msg-reason-cannot-read = 无法读取：{ $cause }
msg-reason-too-big = 文件大小为 { $size } 字节，超过了 limits.max_file_mib（{ $limit }）
msg-reason-empty = 空文件
msg-reason-heic = 此版本无法读取 HEIC：请使用 --features heic 重新编译
msg-reason-bad-header = 无法读取 { $format } 文件头：{ $cause }
msg-reason-cannot-process = 无法处理：{ $cause }
msg-reason-duplicate = 与本次运行中的 { $other } 内容相同
msg-reason-duplicate-elsewhere = 与 { $other } 内容相同，该文件正由工作进程 { $worker } 处理
msg-reason-already-at = 已在目标中：{ $where }
msg-reason-host-had-it = 图床上已有此文件
msg-reason-left-behind = 超过 { $seconds } 秒仍未完成（limits.file_seconds），已放弃
msg-reason-not-read-stopped = 未读取：运行已停止
msg-reason-not-read = 未读取：{ $cause }
msg-reason-sidecar-of = { $photo } 的 XMP 附属文件
msg-reason-sidecar-alone = XMP 附属文件，旁边没有同名照片
msg-reason-takeout-of = { $photo } 的 Takeout 元数据
msg-reason-takeout-alone = Takeout 元数据，其照片不在此文件夹中
msg-reason-takeout-album = Takeout 相册元数据
msg-reason-raw-of = { $photo } 的 RAW 原片
msg-reason-raw-skip = 相机 RAW 文件（input.raw: skip）
msg-reason-raw-no-preview = 相机 RAW 文件中没有可用的内嵌 JPEG 预览图
msg-reason-raw-small-preview = 相机 RAW 文件的最大预览图（{ $width }x{ $height }）窄于 resize.width { $target }
msg-reason-live-photo = 实况照片 { $photo } 的视频部分（设置 input.live_photos: keep 可一并发送）
msg-reason-ledger = 记录库出错：{ $cause }

## 发送：目标对文件做了什么

msg-run-stopped = 运行已停止
msg-reason-not-sent = 未发送：{ $why }
msg-reason-no-urls = 此目标不接受远程网址
msg-reason-url-sent = 已发送到此图床
msg-reason-dry-run-write = 试运行：将写入 { $name }
msg-reason-dry-run-send = 试运行：未发送
msg-reason-taken-over-before = 未发送：另一个工作进程接手了此内容（本进程的租约已过期）
msg-reason-as-said = { $words }
msg-reason-maybe-reached = { $why }；之前的一次尝试可能已到达图床
msg-reason-gave-up = 尝试 { $tries } 次后放弃：{ $last }
msg-reason-host-had-bytes = 图床上已有这些字节（图床不返回其网址）
msg-reason-cannot-write = 无法写入 { $root }：{ $cause }
msg-reason-manifest = 无法在 { $root } 写入清单：{ $cause }
msg-reason-identical-at = 相同的文件已在 { $where }
msg-warn-answer-lost = 之前的运行发送过此文件但丢失了答复：图床上可能有两份
msg-warn-other-bytes = 图床保存的字节与发送的不同（md5 { $stored }，发送的是 { $sent }）
msg-warn-taken-over-while-sent = 发送期间另一个工作进程接手了此文件（本进程的租约已过期）：图床上可能有两份，记录库保留另一进程的记录
msg-warn-tags-dropped = 图床会丢弃这些标签（超过 32 个字符，或含 / 或 #）：{ $tags }
msg-warn-title-cut = 标题有 { $chars } 个字符，图床只保留前 { $max } 个：{ $kept }
msg-warn-import-tags = 批量导入器只为用户的照片保留标签（layout: users），这些标签会被丢弃

## 图床与网络

msg-host-cannot-reach = 无法连接 { $host }：{ $cause }
msg-host-outage-over = { $host } 已有 { $seconds } 秒无法连接（upload.outage_wait）：{ $cause }
msg-host-away = { $host } 自 { $since } 起无法连接（{ $cause }），{ $next } 秒后重试
msg-host-asked-wait = 图床要求等待 { $seconds } 秒
msg-host-kept-asking = 图床一再要求等待（{ $seconds } 秒）
msg-host-said = 图床答复：{ $words }
msg-host-bad-key = 图床答复：{ $words }（请检查 target.chevereto.api_key）
msg-host-bad-url = 图床答复：{ $words }（请检查 target.chevereto.url）
msg-host-denied = 图床答复：{ $words }：此密钥或站点已禁止上传
msg-host-no-storage = 图床答复：{ $words }：图床无法保存文件
msg-host-limit = 图床答复：{ $words }：已达到图床的上传上限，请稍后再运行
msg-host-redirected = 图床重定向了上传请求（HTTP { $status }）；请检查 target.chevereto.url
msg-http-status = 图床返回 HTTP { $status }
msg-http-not-json = 图床返回 HTTP { $status }，但内容不是 JSON
msg-http-no-location = 图床返回 HTTP { $status }，但没有 Location
msg-http-413 = 图床（或其前面的代理）拒绝了这么大的请求（HTTP { $status }）
msg-tls-plain-port = 与 { $host } 的 TLS 握手失败：该端口使用明文 HTTP 而不是 HTTPS（请检查 target.chevereto.url 的协议和端口）
msg-tls-untrusted = { $host } 的 TLS 证书不受信任：{ $cause }
msg-net-timed-out = 超时{ $cause }
msg-net-lost = 连接中断{ $cause }

## pixpipe check --online

msg-online-good = { $url }：图床认可此密钥（未上传任何文件）
msg-online-bad-key = { $url }：图床拒绝了此密钥：{ $why }
msg-online-unexpected = { $url }：不是 Chevereto API v1.1 对有效密钥的答复：{ $why }
msg-online-unreachable = { $url }：没有答复：{ $why }
msg-online-stored = 图床在没有来源的情况下保存了内容
msg-online-no-host = check --online：此流水线不发送到图床（target.chevereto）

## 流水线文件

msg-config-error = 流水线文件有误：{ $error }
msg-rule-two-targets = target：target.dir、target.chevereto 与 target.chevereto_import 只能写一个
msg-rule-no-target = target：请写上 target.dir、target.chevereto 或 target.chevereto_import
msg-rule-import-user = target.chevereto_import.user：仅在 layout: users 时写明用户
msg-rule-no-input = input.paths：至少列出一个文件夹或文件
msg-rule-urls-need-chevereto = input.urls：网址只能发送到 chevereto 目标
msg-rule-two-ledgers = ledger：ledger.path 与 ledger.url 只能写一个

## 运行结果页面

msg-page-delivered = 已发送
msg-page-there = 已在目标中及内容重复
msg-page-failed = 失败
msg-page-skipped = 已跳过
msg-page-not-started = 未开始
msg-page-show-more = 显示更多
msg-page-filter = 按文件名、标题或原因筛选
msg-page-states = 状态
msg-page-shown = 显示 { $shown } / { $total } 个文件
msg-page-time = 用时
msg-page-seconds = { $seconds } 秒
msg-page-read = 读取字节
msg-page-sent = 发送字节
msg-page-written = 写入字节
msg-page-rate = 速度
msg-page-rate-value = 每秒 { $rate } 个文件
msg-page-pipeline = 流水线
msg-page-target = 目标
msg-page-files = 文件数
msg-page-bytes = 字节数
msg-page-parts = 本页的各部分
msg-page-part = 第 { $part } 部分
msg-page-first = 第一部分（含摘要）
msg-page-previous = 上一部分
msg-page-next = 下一部分
msg-page-possibly-duplicated = 可能重复
msg-page-dry-run = 试运行
msg-page-nothing-delivered = 没有发送任何文件
msg-page-stopped = 已停止

msg-page-link-viewer = 查看页
msg-page-link-image = 图片
msg-page-link-file = 文件

## 命令行帮助

msg-help-about = 缩放照片档案，并且每张只发布一次。
msg-help-run = 运行一个流水线文件。
msg-help-plan = 预览一次运行：新文件、已在目标中、内容重复、跳过。
msg-help-check = 检查流水线文件并按读取结果显示（密钥显示为 ***）。
msg-help-inspect = 显示 pixpipe 从文件中读到的内容：格式、尺寸、标题、日期、方向、哈希。
msg-help-upload = 不用流水线文件，直接把文件上传到图床。
msg-help-ledger = 查看记录库：什么文件发送到了哪里。
msg-help-bench = 用你的照片或生成的照片测量缩放速度与质量。
msg-help-lang = 提示语言：en 或 zh-CN（默认依次取 PIXPIPE_LANG、LC_ALL、LC_MESSAGES、LANG）。
