"""Dual data extraction in the workbench: forms per study, discrepancies, adjudication, verification.

Each extractor fills in, per included study, the arm data of every outcome ×
time point (n, mean, SD; or median, quartiles, range; SE or CI; events), the
row's reported p and unit, the study's characteristics (the review's Table 1
columns) and its risk of bias with support quotes. Extractors are blind to
each other: a page or API answer carries only the user's own values. The
adjudicator (who did not extract the study) sees every field where the
extractors differ, with both originals and their provenance, and records a
choice (append-only, :mod:`hepatostat.review.extraction`). The checks of
:mod:`hepatostat.meta.extraction_checks` run on each extractor's own entries
while they type (``/extraction/api/check``) and, on the adjudicated
extraction, fill the verification log that must be settled before export.

The digitiser (:mod:`hepatostat.web.digitise`) sits beside the form; values
it reads carry their provenance (figure, pixel coordinates, calibration) into
the form's hidden ``p|…`` fields and from there into the events.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from ..errors import InputError
from ..io.format import fmt_fixed, fmt_sig
from ..review.extraction import (
    ARM_FIELDS,
    CHARACTERISTIC_FIELDS,
    MEDIAN_CONVERSIONS,
    RESOLUTIONS,
    ROB_TOOLS,
    ROW_FIELDS,
    SCHEMA,
    Extraction,
    Key,
    convert_ci,
    convert_median,
    convert_se,
    derived,
)

NAV = [("Extraction", "/extraction", "reviewer"), ("Discrepancies", "/adjudicate/extraction", "adjudicator"),
       ("Verification", "/verify/extraction", "adjudicator")]
BODY_LIMITS = {"/extraction/": 2 << 20}

#: arm fields shown in the form, in order
FORM_ARM_FIELDS = ("n", "mean", "sd", "median", "q1", "q3", "min", "max", "se", "ci_low", "ci_high", "events")
FORM_ROW_FIELDS = ("p_reported", "unit")
ARM_LABELS = {1: "Experimental (MSC)", 2: "Control"}
DEFAULT_OUTCOMES = ("MELD", "ALB", "TBIL", "PTA", "INR", "ALT", "survival")
DEFAULT_TIMEPOINTS = ("baseline", "W2", "W4", "W12", "W24", "W48")
SEP = "|"


def _label_ok(text: str, what: str) -> str:
    text = " ".join(str(text or "").split())
    if not text:
        raise InputError(f"{what} is required", column=what, value=text)
    if SEP in text or len(text) > 200:
        raise InputError(f"{what} must be at most 200 characters and must not contain '{SEP}'", column=what,
                         value=text)
    return text


def _ex(con) -> Extraction:
    return Extraction(con, create=False)


def _rows_of(entries: dict, extra=()) -> list[tuple[str, str]]:
    """(outcome, time point) blocks of the form, in time order."""
    from ..meta.extraction_checks import timepoint_days

    keys = {(k.outcome, k.timepoint) for k in entries if k.kind in ("arm", "row")} | set(extra)

    def sk(ot):
        d = timepoint_days(ot[1])
        return (ot[0], float("inf") if d is None else d, ot[1])

    return sorted(keys, key=sk)


def _long_from_entries(entries_by_study: dict) -> "list[dict]":
    """One extractor's entries as long-table rows (text values) for the checks."""
    rows: dict[tuple, dict] = {}
    for study, entries in entries_by_study.items():
        for k, v in entries.items():
            if k.kind not in ("arm", "row") or v.get("value") in (None, ""):
                continue
            r = rows.setdefault((k.study, k.outcome, k.timepoint),
                                {"study": k.study, "outcome": k.outcome, "timepoint": k.timepoint})
            if k.kind == "row":
                if k.field in ("p_reported", "unit"):
                    r[k.field] = v["value"]
            elif k.field not in ("se", "ci_low", "ci_high"):
                r[f"{ARM_FIELDS[k.field]}{k.arm}"] = v["value"]
                if k.field in ("mean", "sd") and derived(v.get("provenance")):
                    r[f"converted{k.arm}"] = "true"
    return list(rows.values())


def _check_rows(rows: list[dict], integer: list[str]):
    from ..meta.extraction_checks import NUMERIC_COLUMNS, check_extraction

    if not rows or not any(any(c in r for c in NUMERIC_COLUMNS) for r in rows):
        return []
    present = {r["outcome"] for r in rows}
    return list(check_extraction(rows, integer_outcomes=[o for o in integer if o in present]).flags)


def _settings(store) -> dict:
    def split(v, default):
        items = [x.strip() for x in (v or "").split(",") if x.strip()]
        return items or list(default)

    return {"integer": split(store.setting("extraction_integer", "MELD"), ()),
            "outcomes": split(store.setting("extraction_outcomes"), DEFAULT_OUTCOMES),
            "timepoints": split(store.setting("extraction_timepoints"), DEFAULT_TIMEPOINTS),
            "rob_tool": store.setting("extraction_rob_tool", "rob1") or "rob1"}


def routes(wb):
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, RedirectResponse, Response
    from starlette.routing import Route

    store = wb.store

    async def read(fn):
        return await store.call(lambda: fn(_ex(store.con)))

    async def write(fn):
        def go():
            with store.transaction() as con:
                return fn(_ex(con))

        return await run_in_threadpool(go)

    def back(url: str, msg: str):
        sep = "&" if "?" in url else "?"
        return RedirectResponse(f"{url}{sep}msg={quote(msg[:280])}", 303)

    def study_url(study: str, **extra) -> str:
        q = "&".join(f"{k}={quote(str(v))}" for k, v in extra.items() if v not in (None, ""))
        return f"/extraction/study?s={quote(study)}" + (f"&{q}" if q else "")

    # ------------------------------------------------------------------ study list
    async def index(request):
        user = await wb.user(request)

        def info(e: Extraction):
            studies = e.studies()
            mine = {}
            for s in studies:
                mine[s] = sum(1 for v in e.entries(user.username, s).values() if v["value"] is not None)
            extractors = {s: e.extractors(s) for s in studies}
            open_ = {}
            if user.can("adjudicator"):
                for d in e.discrepancies(include_adjudicated=False):
                    open_[d.key.study] = open_.get(d.key.study, 0) + 1
            return studies, mine, extractors, open_

        studies, mine, extractors, open_ = await read(info)
        included = []
        if user.can("owner"):
            included = await store.call(_included_records, store, set(studies))
        return wb.render(request, "extraction.html", studies=studies, mine=mine, extractors=extractors,
                         open_=open_, included=included)

    async def add_study(request):
        user = await wb.user(request, "owner")
        form = await wb.form(request, user)
        labels = [str(form.get("study") or "").strip()] if form.get("study") else []
        labels += [x for x in str(form.get("records") or "").split("\n") if x.strip()]
        added = 0
        for raw in labels:
            label, _, rid = raw.partition(SEP)
            label = _label_ok(label, "study")
            await write(lambda e, lab=label, r=rid: e.add_study(user.username, lab, record_id=r or None))
            added += 1
        return back("/extraction", f"{added} stud{'y' if added == 1 else 'ies'} added.")

    # ------------------------------------------------------------------ the form
    async def study_page(request):
        user = await wb.user(request)
        study = _label_ok(request.query_params.get("s"), "study")
        extra = []
        if request.query_params.get("add_outcome"):
            extra.append((_label_ok(request.query_params.get("add_outcome"), "outcome"),
                          _label_ok(request.query_params.get("add_timepoint"), "timepoint")))
        settings = await store.call(_settings, store)

        def load(e: Extraction):
            if study not in e.studies():
                raise InputError("this study is not in the extraction list (an owner adds it)", column="study",
                                 value=study)
            all_mine = {s: e.entries(user.username, s) for s in e.studies()}
            return all_mine

        all_mine = await read(load)
        mine = all_mine[study]
        flags = await run_in_threadpool(_check_rows, _long_from_entries(all_mine), settings["integer"])
        flags = [f for f in flags if f.study == study]
        blocks = _rows_of(mine, extra)
        figures = await store.call(_figures, store, user.username, study)
        fig = request.query_params.get("fig")
        tool = ROB_TOOLS.get(settings["rob_tool"], ROB_TOOLS["rob1"])

        def val(kind, field, outcome="", timepoint="", arm=0):
            v = mine.get(Key(kind, study, outcome, timepoint, arm, field))
            return "" if v is None or v["value"] is None else v["value"]

        def prov(kind, field, outcome="", timepoint="", arm=0):
            v = mine.get(Key(kind, study, outcome, timepoint, arm, field))
            return "" if v is None or not v["provenance"] else v["provenance"]

        def note(kind, field):
            v = mine.get(Key(kind, study, "", "", 0, field))
            return "" if v is None or not v["note"] else v["note"]

        def describe(p: str) -> str:
            if not p:
                return ""
            try:
                d = json.loads(p)
            except ValueError:
                return ""
            if "conversion" in d:
                ins = ", ".join(f"{k} {v}" for k, v in d.get("inputs", {}).items())
                return f"converted ({d['conversion']}, {d['method']}) from {ins}"
            if "figure_id" in d:
                return (f"digitised from {d.get('filename', 'figure')} at pixel "
                        f"({fmt_fixed(d.get('px', 0), 0)}, {fmt_fixed(d.get('py', 0), 0)})")
            if "imported" in d:
                return f"imported from {d['imported']} row {d.get('row')}"
            return ""

        return wb.render(request, "extraction_study.html", study=study, blocks=blocks, flags=flags,
                         arm_fields=FORM_ARM_FIELDS, row_fields=FORM_ROW_FIELDS, arm_labels=ARM_LABELS,
                         char_fields=CHARACTERISTIC_FIELDS, rob_domains=tool["domains"],
                         rob_judgements=tool["judgements"], val=val, prov=prov, note=note, describe=describe,
                         methods=MEDIAN_CONVERSIONS, sep=SEP, figures=figures, fig=fig,
                         outcomes=settings["outcomes"], timepoints=settings["timepoints"])

    def _parse_form(form: dict, study: str):
        """{Key: (value, provenance, note)} from the posted form."""
        out = {}
        for name, value in form.items():
            if not isinstance(value, str) or not name or name[0] not in "fcr" or name[1:2] != SEP:
                continue
            parts = name.split(SEP)
            if parts[0] == "f" and len(parts) == 5:
                _, outcome, timepoint, arm, field = parts
                kind = "row" if arm == "0" else "arm"
                key = Key(kind, study, outcome, timepoint, int(arm), field)
            elif parts[0] == "c" and len(parts) == 2:
                key = Key("characteristic", study, "", "", 0, parts[1])
            elif parts[0] == "r" and len(parts) == 2:
                key = Key("rob", study, "", "", 0, parts[1])
            else:
                continue
            p = form.get("p" + name[1:])
            n = form.get("q" + name[1:]) if parts[0] == "r" else None
            out[key] = (value.strip(), (p or "").strip() or None, (n or "").strip() or None)
        return out

    async def save(request):
        user = await wb.user(request)
        form = await wb.form(request, user)
        study = _label_ok(form.get("study"), "study")
        posted = _parse_form(form, study)
        convert_target = str(form.get("convert") or "")
        revert_target = str(form.get("revert") or "")

        def go(e: Extraction):
            if study not in e.studies():
                raise InputError("this study is not in the extraction list", column="study", value=study)
            mine = e.entries(user.username, study)
            changed = 0
            for key, (value, prov, note) in posted.items():
                cur = mine.get(key)
                cur_v = None if cur is None else cur["value"]
                cur_n = None if cur is None else cur["note"]
                if (cur_v or "") == value and (key.kind != "rob" or (cur_n or "") == (note or "")):
                    continue
                if cur is None and value == "" and not note:
                    continue
                e.record(user.username, key.kind, study, key.field, value or None, outcome=key.outcome or None,
                         timepoint=key.timepoint or None, arm=key.arm, provenance=prov, note=note)
                changed += 1
            msg = f"Saved {changed} value{'s' if changed != 1 else ''}."
            if convert_target:
                outcome, timepoint, arm = convert_target.split(SEP)
                method = str(form.get(f"m{SEP}{convert_target}") or "luo_shi")
                mine = e.entries(user.username, study)

                def g(f):
                    v = mine.get(Key("arm", study, outcome, timepoint, int(arm), f))
                    return None if v is None else v["value"]

                if g("median") is not None:
                    conv = convert_median(median=g("median"), n=g("n"), q1=g("q1"), q3=g("q3"), min=g("min"),
                                          max=g("max"), method=method)
                elif g("se") is not None:
                    conv = convert_se(se=g("se"), n=g("n"))
                elif g("ci_low") is not None and g("ci_high") is not None:
                    conv = convert_ci(ci_low=g("ci_low"), ci_high=g("ci_high"), n=g("n"))
                else:
                    raise InputError("nothing to convert: enter a median with quartiles and/or range, an SE or a CI "
                                     "(and n) first", column="convert", value=convert_target)
                e.apply_conversion(user.username, conv, study=study, outcome=outcome, timepoint=timepoint,
                                   arm=int(arm))
                msg += (f" Converted {outcome} {timepoint} arm {arm}: mean {conv.mean if conv.mean is None else fmt_sig(conv.mean, 4)}, "
                        f"SD {fmt_sig(conv.sd, 4)} ({conv.kind}, {conv.method}).")
            if revert_target:
                outcome, timepoint, arm = revert_target.split(SEP)
                ids = e.revert_conversion(user.username, study=study, outcome=outcome, timepoint=timepoint,
                                          arm=int(arm))
                msg += f" Conversion undone ({len(ids)} value{'s' if len(ids) != 1 else ''} cleared)."
            return msg

        try:
            msg = await write(go)
        except InputError as exc:
            return back(study_url(study), f"Not saved: {exc}")
        return back(study_url(study), msg)

    async def api_check(request):
        """Live flags for the form: the user's own entries with the posted values laid over them."""
        user = await wb.user(request)
        body = await wb.json(request, user)
        if not isinstance(body, dict) or not isinstance(body.get("values"), dict):
            raise InputError("the JSON body must be {study, values: {field name: value}}")
        study = _label_ok(body.get("study"), "study")
        settings = await store.call(_settings, store)
        all_mine = await read(lambda e: {s: e.entries(user.username, s) for s in e.studies()})
        mine = dict(all_mine.get(study, {}))
        for key, (value, prov, _note) in _parse_form({k: str(v) for k, v in body["values"].items()
                                                      if isinstance(v, (str, int, float))}, study).items():
            mine[key] = {"value": value or None, "provenance": prov or (mine.get(key) or {}).get("provenance"),
                         "note": None, "event_id": None}
        all_mine[study] = mine
        try:
            flags = await run_in_threadpool(_check_rows, _long_from_entries(all_mine), settings["integer"])
        except InputError as exc:
            return JSONResponse({"flags": [], "error": str(exc)})
        return JSONResponse({"flags": [f.to_dict() for f in flags if f.study == study]})

    async def api_record(request):
        """One value from the digitiser, with its provenance (JSON)."""
        user = await wb.user(request)
        body = await wb.json(request, user)
        if not isinstance(body, dict):
            raise InputError("the JSON body must be an object")
        study = _label_ok(body.get("study"), "study")
        prov = body.get("provenance")
        if prov is not None and not isinstance(prov, dict):
            raise InputError("provenance must be an object", column="provenance")
        eid = await write(lambda e: e.record(user.username, str(body.get("kind", "arm")), study,
                                             str(body.get("field", "")), body.get("value"),
                                             outcome=body.get("outcome"), timepoint=body.get("timepoint"),
                                             arm=body.get("arm"), provenance=prov))
        return JSONResponse({"event_id": eid})

    # ------------------------------------------------------------------ adjudication
    async def adjudicate_page(request):
        user = await wb.user(request, "adjudicator")

        def load(e: Extraction):
            items = e.discrepancies()
            who = {s: e.extractors(s) for s in {d.key.study for d in items}}
            return items, who

        items, who = await read(load)
        open_items = [d for d in items if not d.adjudicated]
        done = [d for d in items if d.adjudicated]
        return wb.render(request, "extraction_adjudicate.html", open_items=open_items, done=done, who=who,
                         me=user.username, sep=SEP)

    async def adjudicate_post(request):
        user = await wb.user(request, "adjudicator")
        form = await wb.form(request, user)
        try:
            kind, study, outcome, timepoint, arm, field = str(form.get("key", "")).split(SEP)
        except ValueError:
            raise InputError("malformed field key", column="key", value=form.get("key")) from None
        choice = str(form.get("choice") or "")
        chosen = str(form.get("other") or "").strip() if choice == "__other__" else choice
        reason = str(form.get("reason") or "").strip() or None
        key = Key(kind, study, outcome, timepoint, int(arm), field)

        def go(e: Extraction):
            if user.username in e.extractors(study):
                raise InputError("you extracted this study: another adjudicator must settle it", value=user.username)
            return e.adjudicate(user.username, key, chosen or None, reason=reason)

        try:
            await write(go)
        except InputError as exc:
            return back("/adjudicate/extraction", f"Not saved: {exc}")
        return back("/adjudicate/extraction", f"Settled {study}: {key.label()} = {chosen or '(empty)'}.")

    # ------------------------------------------------------------------ verification and export
    async def verify_page(request):
        user = await wb.user(request, "adjudicator")
        settings = await store.call(_settings, store)

        def load(e: Extraction):
            _final, open_ = e.final()
            log = e.verification_log(integer_outcomes=settings["integer"])
            table = e.long_table(allow_open=True)
            return open_, log, table

        open_, log, table = await read(load)
        return wb.render(request, "extraction_verify.html", open_=open_, log=log.to_dict("records"),
                         n_rows=len(table), resolutions=RESOLUTIONS, settings=settings, sep=SEP,
                         exported=request.query_params.get("exported", ""))

    async def verify_post(request):
        user = await wb.user(request, "adjudicator")
        form = await wb.form(request, user)
        action = form.get("action")
        settings = await store.call(_settings, store)
        if action == "settings":
            if not user.can("owner"):
                raise InputError("only the owner changes the extraction settings")
            for k in ("integer", "outcomes", "timepoints"):
                v = ",".join(x.strip() for x in str(form.get(k) or "").split(",") if x.strip())
                await run_in_threadpool(store.set_setting, f"extraction_{k}", v)
            return back("/verify/extraction", "Settings saved.")
        if action == "settle":
            from ..meta.extraction_checks import Flag

            arm = str(form.get("arm") or "")
            flag = Flag(0, str(form.get("study")), str(form.get("outcome")), str(form.get("timepoint")),
                        int(arm) if arm not in ("", "None", "0") else None, str(form.get("check")),
                        str(form.get("message") or ""))
            try:
                await write(lambda e: e.settle_flag(user.username, flag, str(form.get("resolution") or ""),
                                                    note=str(form.get("note") or "")))
            except InputError as exc:
                return back("/verify/extraction", f"Not saved: {exc}")
            return back("/verify/extraction", f"Flag {flag.check} on {flag.study} settled.")
        if action == "export":
            folder = store.path.parent / f"{store.path.stem}_extraction"
            try:
                paths = await read(lambda e: e.export(folder, integer_outcomes=settings["integer"]))
            except InputError as exc:
                return back("/verify/extraction", f"Not exported: {exc}")
            await run_in_threadpool(store.audit, user.username, "extraction_export", str(folder))
            return RedirectResponse("/verify/extraction?exported=" + quote(str(paths["extraction"].parent)), 303)
        raise InputError("unknown action", value=action)

    async def export_csv(request):
        await wb.user(request, "adjudicator")
        table = await read(lambda e: e.long_table())
        return Response(table.to_csv(index=False), media_type="text/csv",
                        headers={"content-disposition": 'attachment; filename="extraction.csv"'})

    return [
        Route("/extraction", index),
        Route("/extraction/add", add_study, methods=["POST"]),
        Route("/extraction/study", study_page),
        Route("/extraction/save", save, methods=["POST"]),
        Route("/extraction/api/check", api_check, methods=["POST"]),
        Route("/extraction/api/record", api_record, methods=["POST"]),
        Route("/adjudicate/extraction", adjudicate_page),
        Route("/adjudicate/extraction", adjudicate_post, methods=["POST"]),
        Route("/verify/extraction", verify_page),
        Route("/verify/extraction", verify_post, methods=["POST"]),
        Route("/verify/extraction/extraction.csv", export_csv),
    ]


def _included_records(store, known: set) -> list[dict]:
    """Records included at full text (from screening), not yet in the extraction list."""
    try:
        fin = store.project.final_decisions("full_text")
    except Exception:  # noqa: BLE001 - no screening data yet
        return []
    if fin is None or len(fin) == 0 or "final" not in fin.columns:
        return []
    ids = [r for r, f in zip(fin["record_id"], fin["final"]) if f == "include"]
    if not ids:
        return []
    rows = store.query("SELECT record_id, title, authors, year FROM records WHERE record_id IN (" +
                       ",".join("?" * len(ids)) + ")", ids)
    out = []
    for rid, title, authors, year in rows:
        first = (str(authors or "").split(";")[0].split(",")[0].strip() or "Study")
        label = f"{first} {year or ''}".strip()
        if label not in known:
            out.append({"record_id": rid, "label": label, "title": title})
    return out


def _figures(store, username: str, study: str) -> list[dict]:
    try:
        rows = store.query("SELECT figure_id, filename, width, height FROM digitise_figures WHERE username = ? AND "
                           "study = ? ORDER BY figure_id", [username, study])
    except Exception:  # noqa: BLE001 - the digitiser module is not loaded
        return []
    return [{"id": r[0], "filename": r[1], "width": r[2], "height": r[3]} for r in rows]
