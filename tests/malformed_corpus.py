"""A corpus of malformed messages, each one a way real mail breaks. The importer must store them all."""

BASE = b"From: a@example.test\r\nTo: b@example.test\r\n"


def corpus() -> dict[str, bytes]:
    big = b"A" * (20 * 1024 * 1024)
    return {
        "broken MIME boundary": BASE
        + b"Subject: broken mime\r\nMessage-ID: <mime@x>\r\nDate: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="nope"\r\n\r\n--other\r\nno end\r\n',
        "unknown charset in encoded word": BASE
        + b"Subject: =?x-klingon?Q?Qapla=27?=\r\nMessage-ID: <charset@x>\r\nDate: Mon, 30 Nov 2026 09:01:00 +0000\r\n"
        b"\r\nbody\r\n",
        "unknown body charset": BASE
        + b"Subject: body charset\r\nMessage-ID: <bodycs@x>\r\nDate: Mon, 30 Nov 2026 09:02:00 +0000\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\n\xff\xfe body\r\n",
        "missing Message-ID": BASE + b"Subject: no id\r\nDate: Mon, 30 Nov 2026 09:03:00 +0000\r\n\r\nbody\r\n",
        "duplicate Message-ID (first)": BASE
        + b"Subject: twin one\r\nMessage-ID: <twin@x>\r\nDate: Mon, 30 Nov 2026 09:04:00 +0000\r\n\r\none\r\n",
        "duplicate Message-ID (second)": BASE
        + b"Subject: twin two\r\nMessage-ID: <twin@x>\r\nDate: Mon, 30 Nov 2026 09:05:00 +0000\r\n\r\ntwo\r\n",
        "two Message-ID headers": BASE + b"Subject: two ids\r\nMessage-ID: <a@x>\r\nMessage-ID: <b@x>\r\n"
        b"Date: Mon, 30 Nov 2026 09:06:00 +0000\r\n\r\nx\r\n",
        "missing Date": BASE + b"Subject: no date\r\nMessage-ID: <nodate@x>\r\n\r\nbody\r\n",
        "unreadable Date": BASE + b"Subject: bad date\r\nMessage-ID: <baddate@x>\r\nDate: yesterday-ish\r\n\r\nb\r\n",
        "8-bit UTF-8 header": BASE
        + "Subject: Grüße aus Köln\r\nMessage-ID: <utf8@x>\r\n".encode()
        + b"Date: Mon, 30 Nov 2026 09:07:00 +0000\r\n\r\nb\r\n",
        "8-bit latin-1 header": b"From: Jos\xe9 <jose@example.test>\r\nSubject: caf\xe9\r\nMessage-ID: <latin1@x>\r\n"
        b"Date: Mon, 30 Nov 2026 09:08:00 +0000\r\n\r\nb\r\n",
        "20 MB attachment": BASE
        + b"Subject: huge\r\nMessage-ID: <huge@x>\r\nDate: Mon, 30 Nov 2026 09:09:00 +0000\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + big
        + b"\r\n--b--\r\n",
        "no blank line after headers": BASE + b"Subject: no separator\r\nMessage-ID: <nosep@x>",
        "bare LF line endings": b"From: a@example.test\nSubject: bare lf\nMessage-ID: <lf@x>\n"
        b"Date: Mon, 30 Nov 2026 09:10:00 +0000\n\nbody\n",
        "folded and very long Subject": BASE
        + b"Subject: "
        + b"long " * 400
        + b"\r\n  folded tail\r\nMessage-ID: <long@x>\r\n"
        b"Date: Mon, 30 Nov 2026 09:11:00 +0000\r\n\r\nb\r\n",
        "invalid base64 body": BASE
        + b"Subject: bad b64\r\nMessage-ID: <b64@x>\r\nDate: Mon, 30 Nov 2026 09:12:00 +0000\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n",
        "malformed encoded word": BASE
        + b"Subject: =?utf-8?B?####?=\r\nMessage-ID: <ew@x>\r\nDate: Mon, 30 Nov 2026 09:13:00 +0000\r\n\r\nb\r\n",
        "no From and no Subject": b"Message-ID: <bare@x>\r\nDate: Mon, 30 Nov 2026 09:14:00 +0000\r\n\r\nbody only\r\n",
        "header without colon": BASE + b"Subject: junk header\r\nThis line is not a header\r\nMessage-ID: <junk@x>\r\n"
        b"Date: Mon, 30 Nov 2026 09:15:00 +0000\r\n\r\nb\r\n",
        "timezone-less Date": BASE
        + b"Subject: naive date\r\nMessage-ID: <naive@x>\r\nDate: Mon, 30 Nov 2026 09:16:00\r\n\r\nb\r\n",
        "bare CR line endings": b"From: a@example.test\rSubject: bare cr\rMessage-ID: <cr@x>\r"
        b"Date: Mon, 30 Nov 2026 09:17:00 +0000\r\rSubject: not a header\r",
        "mixed line endings": b"From: a@example.test\rSubject: mixed\n endings\r\nMessage-ID: <mixed@x>\n"
        b"Date: Mon, 30 Nov 2026 09:18:00 +0000\r\n\nbody\r\n",
        "two Subject headers": BASE + b"Subject: first of two\r\nMessage-ID: <twosubj@x>\r\nSubject: second of two\r\n"
        b"Date: Mon, 30 Nov 2026 09:19:00 +0000\r\n\r\nb\r\n",
        "leading byte-order mark": b"\xef\xbb\xbf" + BASE + b"Subject: bom\r\nMessage-ID: <bom@x>\r\n"
        b"Date: Mon, 30 Nov 2026 09:20:00 +0000\r\n\r\nb\r\n",
        "control characters": BASE + b"Subject: bell\x07 escape\x1b[31m red\tand  spaced\x7f\r\n"
        b"Message-ID: <controls@x>\r\nDate: Mon, 30 Nov 2026 09:21:00 +0000\r\n\r\nb\r\n",
        "NUL in an encoded Subject": BASE + b"Subject: =?utf-8?q?nul=00inside?=\r\nMessage-ID: <nul@x>\r\n"
        b"Date: Mon, 30 Nov 2026 09:22:00 +0000\r\n\r\nb\r\n",
        "NUL byte in Subject": BASE + b"Subject: raw\x00nul\r\nMessage-ID: <rawnul@x>\r\n"
        b"Date: Mon, 30 Nov 2026 09:22:30 +0000\r\n\r\nb\r\n",
        "Message-ID containing <": BASE + b"Subject: angle inside\r\nMessage-ID: <a<b@x> (relay)\r\n"
        b"Date: Mon, 30 Nov 2026 09:23:00 +0000\r\n\r\nb\r\n",
        "Message-ID without brackets": BASE + b"Subject: bare id\r\nMessage-ID: bare@x\r\n"
        b"Date: Mon, 30 Nov 2026 09:24:00 +0000\r\n\r\nb\r\n",
        "Subject of 5,000 characters": BASE + b"Subject: " + b"w" * 5000 + b"\r\nMessage-ID: <5k@x>\r\n"
        b"Date: Mon, 30 Nov 2026 09:25:00 +0000\r\n\r\nb\r\n",
        "Subject past 100,000 characters": BASE + b"Subject: " + b"x" * 100_010 + b"\r\nMessage-ID: <100k@x>\r\n"
        b"Date: Mon, 30 Nov 2026 09:26:00 +0000\r\n\r\nb\r\n",
    }
