# pixpipe's messages for people, in English. Every id here exists in
# zh-CN/pixpipe.ftl too, with the same placeholders (a unit test checks).

## The summary of a run

msg-state-written = { $n } written
msg-state-uploaded = { $n } uploaded
msg-state-already_there = { $n } already there
msg-state-duplicate = { $n } duplicate
msg-state-skipped = { $n } skipped
msg-state-failed = { $n } failed
msg-state-not_started = { $n } not started
msg-would-write = would write { $n }
msg-would-upload = would upload { $n }
msg-possibly-duplicated = { $n } possibly duplicated
msg-files-left-to-others = { $n ->
    [one] { $n } file left to another worker
   *[other] { $n } left to other workers
}
msg-list-separator = {", "}
msg-summary = { $counts } in { $seconds } s: { $read } read, { $sent } { $verb }, { $rate } files/s
msg-verb-sent = sent
msg-verb-written = written
msg-see-report = {" "}— see the report
msg-see-file = {" "}— see { $file }
msg-stopped = stopped: { $why }
msg-interrupted = interrupted; finished files are recorded, run again to go on
msg-done-uploaded = Upload complete.
msg-done-nothing-uploaded = No file was uploaded.
msg-some-failed = Note: some files could not be uploaded.
msg-see-errors = See the error report for more information.

## What a run would do (`pixpipe plan`)

msg-plan-new = new:            { $n } ({ $bytes })
msg-plan-already-there = already there:  { $n }
msg-plan-duplicate = duplicate:      { $n }
msg-plan-skipped = skipped:        { $n }
msg-plan-failed = failed:         { $n }

## The progress line, and the lines about single files

msg-progress = { $done }/{ $found } files, { $read } read, { $rate } files/s
msg-progress-upload = { $done }/{ $found } files ({ $percent }%), { $read } read, { $rate } files/s
msg-rate = { $read } read, { $rate } files/s
msg-queued = queued for upload
msg-file-failed = { $path }: failed: { $reason }
msg-file-state = { $path }: { $state }
msg-file-state-why = { $path }: { $state } ({ $reason })
msg-unknown-error = unknown error
msg-word-written = written
msg-word-uploaded = uploaded
msg-word-already_there = already there
msg-word-duplicate = duplicate
msg-word-skipped = skipped
msg-word-failed = failed
msg-word-pending = pending
msg-word-not_started = not started

## Why a file ended as it did

msg-reason-not-media = not a supported image or video (content starts with { $head })
msg-reason-cannot-read = cannot read: { $cause }
msg-reason-too-big = file is { $size } bytes, over limits.max_file_mib ({ $limit })
msg-reason-empty = empty file
msg-reason-heic = this build reads no HEIC: rebuild with --features heic
msg-reason-bad-header = unreadable { $format } header: { $cause }
msg-reason-cannot-process = { $cause }
msg-reason-duplicate = same content as { $other } in this run
msg-reason-duplicate-elsewhere = same content as { $other }, which worker { $worker } is delivering
msg-reason-already-at = already at the target: { $where }
msg-reason-host-had-it = the host already had it
msg-reason-left-behind = still not done after { $seconds } s (limits.file_seconds); left behind
msg-reason-not-read-stopped = not read: the run was stopped
msg-reason-not-read = not read: { $cause }
msg-reason-sidecar-of = sidecar of { $photo }
msg-reason-sidecar-alone = XMP sidecar with no photo of its name beside it
msg-reason-takeout-of = Takeout metadata of { $photo }
msg-reason-takeout-alone = Takeout metadata whose photo is not in this folder
msg-reason-takeout-album = Takeout album metadata
msg-reason-raw-of = raw of { $photo }
msg-reason-raw-skip = camera RAW (input.raw: skip)
msg-reason-raw-no-preview = camera RAW with no embedded JPEG preview to deliver
msg-reason-raw-small-preview = camera RAW whose largest preview ({ $width }x{ $height }) is narrower than resize.width { $target }
msg-reason-live-photo = the video of Live Photo { $photo } (input.live_photos: keep delivers it)
msg-reason-ledger = { $cause }

## Delivery: what a target did with a file

msg-run-stopped = the run was stopped
msg-reason-not-sent = not sent: { $why }
msg-reason-no-urls = this target takes no remote URLs
msg-reason-url-sent = already sent to this host
msg-reason-dry-run-write = dry run: would write { $name }
msg-reason-dry-run-send = dry run: not sent
msg-reason-taken-over-before = not sent: another worker took this content over (this worker's lease ran out)
msg-reason-as-said = { $words }
msg-reason-maybe-reached = { $why }; an earlier try may have reached the host
msg-reason-gave-up = gave up after { $tries } attempts: { $last }
msg-reason-host-had-bytes = the host already had these bytes (it returns no URL for them)
msg-reason-cannot-write = cannot write under { $root }: { $cause }
msg-reason-manifest = cannot write the manifest under { $root }: { $cause }
msg-reason-identical-at = identical file already at { $where }
msg-warn-answer-lost = an earlier run sent this file but its answer was lost: the host may hold it twice
msg-warn-other-bytes = the host stored different bytes (md5 { $stored }, sent { $sent })
msg-warn-taken-over-while-sent = another worker took this file over while it was sent (this worker's lease ran out): the host may hold it twice, and the ledger keeps the other worker's row
msg-warn-tags-dropped = the host will drop these tags (over 32 characters, or with / or #): { $tags }
msg-warn-title-cut = the title has { $chars } characters; the host keeps the first { $max }: { $kept }
msg-warn-import-tags = the Bulk Importer keeps tags only for a user's photos (layout: users); these are dropped

## The host and the network

msg-host-cannot-reach = cannot reach { $host }: { $cause }
msg-host-outage-over = { $host } has been unreachable for { $seconds } s (upload.outage_wait): { $cause }
msg-host-away = { $host } unreachable since { $since } ({ $cause }), next try in { $next } s
msg-host-asked-wait = the host asked to wait { $seconds } s
msg-host-kept-asking = the host kept asking to wait ({ $seconds } s)
msg-host-said = { $words }
msg-host-bad-key = { $words } (check target.chevereto.api_key)
msg-host-bad-url = { $words } (check target.chevereto.url)
msg-host-denied = { $words }: uploads are disabled for this key or site
msg-host-no-storage = { $words }: the host cannot store files
msg-host-limit = { $words }: the host's upload limit is reached; run again later
msg-host-redirected = the host redirected the upload (HTTP { $status }); check target.chevereto.url
msg-http-status = HTTP { $status } from the host
msg-http-not-json = HTTP { $status } with a body that is not JSON
msg-http-no-location = HTTP { $status } without a Location
msg-http-413 = the host (or a proxy before it) refused a body this large (HTTP { $status })
msg-tls-plain-port = TLS handshake with { $host } failed: the port answers in plain HTTP, not HTTPS (check the scheme and port of target.chevereto.url)
msg-tls-untrusted = the TLS certificate of { $host } is not trusted: { $cause }
msg-net-timed-out = timed out{ $cause }
msg-net-lost = connection lost{ $cause }

## pixpipe check --online

msg-online-good = { $url }: the host knows this key (nothing was uploaded)
msg-online-bad-key = { $url }: the host refused the key: { $why }
msg-online-unexpected = { $url }: not the answer of a Chevereto API v1.1 to a good key: { $why }
msg-online-unreachable = { $url }: no answer: { $why }
msg-online-stored = the host stored something without a source
msg-online-no-host = check --online: this pipeline delivers to no host (target.chevereto)

## The pipeline file

msg-config-error = { $error }
msg-rule-two-targets = target: give one of target.dir, target.chevereto, target.chevereto_import
msg-rule-no-target = target: add target.dir, target.chevereto or target.chevereto_import
msg-rule-import-user = target.chevereto_import.user: give the user with layout: users, and only then
msg-rule-no-input = input.paths: list at least one folder or file
msg-rule-urls-need-chevereto = input.urls: URLs can only be sent to a chevereto target
msg-rule-two-ledgers = ledger: give either ledger.path or ledger.url, not both

## The page of a run

msg-page-delivered = Delivered
msg-page-there = Already there and duplicates
msg-page-failed = Failed
msg-page-skipped = Skipped
msg-page-not-started = Not started
msg-page-show-more = Show more
msg-page-filter = Filter by name, title or reason
msg-page-states = Show
msg-page-shown = { $shown } of { $total } files shown
msg-page-time = time
msg-page-seconds = { $seconds } s
msg-page-read = bytes read
msg-page-sent = bytes sent
msg-page-written = bytes written
msg-page-rate = rate
msg-page-rate-value = { $rate } files/s
msg-page-pipeline = pipeline
msg-page-target = target
msg-page-files = files
msg-page-bytes = bytes
msg-page-parts = Parts of this page
msg-page-part = part { $part }
msg-page-first = first part, with the summary
msg-page-previous = previous part
msg-page-next = next part
msg-page-possibly-duplicated = possibly duplicated
msg-page-dry-run = dry run
msg-page-nothing-delivered = nothing was delivered
msg-page-stopped = stopped

msg-page-link-viewer = viewer
msg-page-link-image = image
msg-page-link-file = file

## The command line's help

msg-help-about = Resize photo archives and publish them exactly once.
msg-help-run = Run a pipeline file.
msg-help-plan = Show what a run would do: new, already there, duplicates, skipped.
msg-help-check = Check a pipeline file and show it as read (secrets as ***).
msg-help-inspect = Show what pixpipe reads from files: format, size, title, date, orientation, hashes.
msg-help-upload = Upload files to a host without a pipeline file.
msg-help-ledger = Look into the ledger: what was sent where.
msg-help-bench = Measure resize speed and quality on your photos or generated ones.
msg-help-lang = Language of the messages: en or zh-CN (default: PIXPIPE_LANG, then LC_ALL, LC_MESSAGES, LANG).
