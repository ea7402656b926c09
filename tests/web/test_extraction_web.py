"""Extraction and the digitiser in the workbench, through the HTTP routes."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest

from tests.digitize import figures
from tests.web.conftest import ORIGIN, login

F = "f|{}|{}|{}|{}"


def form_values(study, outcome="MELD", tp="W4", **arms):
    data = {"study": study}
    for key, value in arms.items():  # sd1="4.1", n2="30", p="0.03"
        field, arm = key[:-1], key[-1]
        field = {"m": "mean"}.get(field, field)
        data[F.format(outcome, tp, arm, field)] = value
    return data


def save(client, data):
    return client.post("/extraction/save", data={"csrf_token": client.csrf, **data}, headers=ORIGIN)


@pytest.fixture
def clients(wb_app):
    ow = login(wb_app, "OW")
    r = ow.post("/extraction/add", data={"csrf_token": ow.csrf, "study": "Xu 2019"}, headers=ORIGIN)
    assert r.status_code == 303
    return {name: login(wb_app, name) for name in ("R1", "R2", "AD")} | {"OW": ow}


def test_blinded_dual_entry_discrepancy_and_adjudication(clients):
    r1, r2, ad = clients["R1"], clients["R2"], clients["AD"]
    assert save(r1, form_values("Xu 2019", n1="30", m1="18.2", sd1="4.1", n2="30", m2="20.5", sd2="5.0")).status_code == 303
    assert save(r2, form_values("Xu 2019", n1="30", m1="18.2", sd1="4.7", n2="30", m2="20.5", sd2="5.0")).status_code == 303
    page1 = r1.get("/extraction/study?s=Xu%202019").text
    assert 'value="4.1"' in page1 and 'value="4.7"' not in page1  # R1 sees only R1's values
    page2 = r2.get("/extraction/study?s=Xu%202019").text
    assert 'value="4.7"' in page2 and 'value="4.1"' not in page2
    assert r1.get("/adjudicate/extraction").status_code == 403  # reviewers cannot open the adjudication view
    adj = ad.get("/adjudicate/extraction").text
    assert re.search(r'id="n-open">1<', adj) and "4.1" in adj and "4.7" in adj
    r = ad.post("/adjudicate/extraction", data={"csrf_token": ad.csrf, "key": "arm|Xu 2019|MELD|W4|1|sd",
                                                "choice": "4.1", "reason": "Table 2"}, headers=ORIGIN)
    assert r.status_code == 303
    adj = ad.get("/adjudicate/extraction").text
    assert re.search(r'id="n-open">0<', adj) and "Table 2" in adj
    csv = ad.get("/verify/extraction/extraction.csv").text.splitlines()
    assert csv[0].startswith("study,outcome,timepoint") and "Xu 2019,MELD,W4" in csv[1] and ",4.1," in csv[1]


def test_adjudicator_who_extracted_cannot_settle(clients):
    r1, ad = clients["R1"], clients["AD"]
    save(r1, form_values("Xu 2019", n1="30"))
    save(ad, form_values("Xu 2019", n1="31"))
    page = ad.get("/adjudicate/extraction").text
    assert "another adjudicator must settle it" in page


def test_live_flags_and_server_flags(clients):
    r1 = clients["R1"]
    save(r1, form_values("Xu 2019", outcome="MELD", tp="baseline", n1="9", m1="18.25", sd1="3.1"))
    page = r1.get("/extraction/study?s=Xu%202019").text
    assert "grim" in page and "18.22 (164/9)" in page  # MELD is an integer outcome by default
    body = {"study": "Xu 2019", "values": {F.format("MELD", "baseline", 1, "mean"): "18.22"}}
    r = r1.post("/extraction/api/check", json=body, headers={**ORIGIN, "X-CSRF-Token": r1.csrf})
    assert r.status_code == 200 and r.json()["flags"] == []
    body["values"][F.format("MELD", "baseline", 1, "min")] = "20"
    body["values"][F.format("MELD", "baseline", 1, "max")] = "30"
    flags = r1.post("/extraction/api/check", json=body, headers={**ORIGIN, "X-CSRF-Token": r1.csrf}).json()["flags"]
    assert {f["check"] for f in flags} == {"mean_range"}
    # JSON APIs check the Origin and the CSRF header
    assert r1.post("/extraction/api/check", json=body, headers={"X-CSRF-Token": r1.csrf}).status_code == 403
    assert r1.post("/extraction/api/check", json=body, headers=ORIGIN).status_code == 403


def test_conversion_at_entry_is_shown_and_reversible(clients):
    r1 = clients["R1"]
    data = form_values("Xu 2019", tp="W12", n1="30", median1="16", q11="12", q31="21")
    data["m|MELD|W12|1"] = "wan"
    data["convert"] = "MELD|W12|1"
    r = save(r1, data)
    assert "Converted" in r.headers["location"] or r.status_code == 303
    page = r1.get("/extraction/study?s=Xu%202019").text
    assert "converted (median, wan) from median 16" in page
    from hepatostat.meta.convert import mean_sd_from_median

    m, s = mean_sd_from_median(median=16, q1=12, q3=21, n=30, method="wan")
    assert f'value="{m!r}"' in page and f'value="{s!r}"' in page
    r = save(r1, {"study": "Xu 2019", "revert": "MELD|W12|1"})
    page = r1.get("/extraction/study?s=Xu%202019").text
    assert "converted (median" not in page and 'value="16"' in page


def test_verification_settle_and_export(clients, wb_app):
    r1, r2, ad = clients["R1"], clients["R2"], clients["AD"]
    vals = form_values("Xu 2019", tp="baseline", n1="9", m1="18.25", sd1="3.1", n2="9", m2="18.0", sd2="3.0")
    save(r1, vals)
    save(r2, vals)
    page = ad.get("/verify/extraction").text
    assert re.search(r'id="n-flags">1<', page) and "grim" in page and 'id="open-flags"' in page
    r = ad.post("/verify/extraction", data={"csrf_token": ad.csrf, "action": "export"}, headers=ORIGIN)
    assert "Not%20exported" in r.headers["location"] and "not%20settled" in r.headers["location"]
    r = ad.post("/verify/extraction", data={"csrf_token": ad.csrf, "action": "settle", "study": "Xu 2019",
                                            "outcome": "MELD", "timepoint": "baseline", "arm": "1", "check": "grim",
                                            "message": "x", "resolution": "confirmed", "note": "Table 2 says so"},
                headers=ORIGIN)
    assert r.status_code == 303
    page = ad.get("/verify/extraction").text
    assert "settled: confirmed by AD" in page
    r = ad.post("/verify/extraction", data={"csrf_token": ad.csrf, "action": "export"}, headers=ORIGIN)
    assert r.status_code == 303 and "exported=" in r.headers["location"]
    folder = wb_app.state.wb.store.path.parent / "project_extraction"
    log = (folder / "verification_log.csv").read_text()
    assert "grim" in log and "confirmed" in log and (folder / "plan.toml").exists()


# --------------------------------------------------------------------------
# the digitiser
# --------------------------------------------------------------------------

def _upload(client, path, study="Xu 2019", name="fig.png"):
    with open(path, "rb") as fh:
        return client.post("/digitise/upload", data={"csrf_token": client.csrf, "study": study},
                           files={"figure": (name, fh, "image/png")}, headers=ORIGIN)


def test_digitiser_reads_error_bar_figure(clients, tmp_path):
    r1 = clients["R1"]
    fig = figures.errorbar_points(tmp_path / "eb.png")
    r = _upload(r1, fig.path)
    assert r.status_code == 303 and "fig=1" in r.headers["location"]
    page = r1.get("/extraction/study?s=Xu%202019&fig=1").text
    assert 'id="dz-canvas"' in page and "fig.png (640×480)" in page
    cal = {"kind": "axes", "x_axis": [list(p) for p in fig.x_axis], "y_axis": [list(p) for p in fig.y_axis]}
    hdr = {**ORIGIN, "X-CSRF-Token": r1.csrf}
    res = r1.post("/digitise/api/extract", json={"figure_id": 1, "calibration": cal, "mode": "points",
                                                 "color": figures.RED}, headers=hdr).json()
    ys = sorted(p["y"] for p in res["points"])
    np.testing.assert_allclose(ys, sorted(fig.truth["m1"]), atol=0.2)
    at = [[p["px"], p["py"]] for p in res["points"]]
    eb = r1.post("/digitise/api/extract", json={"figure_id": 1, "calibration": cal, "mode": "error_bars",
                                                "color": figures.BLACK, "at": at}, headers=hdr).json()
    se = sorted((p["x"] if p["x"] is not None else 0, p["upper"] - p["y"]) for p in eb["points"])
    np.testing.assert_allclose(sorted(s for _, s in se), sorted(fig.truth["se1"]), atol=0.25)
    # clicked pixels convert through the same calibration
    py = fig.y_axis[0][0]
    conv = r1.post("/digitise/api/extract", json={"figure_id": 1, "calibration": cal, "mode": "convert",
                                                  "pixels": [[100, py]]}, headers=hdr).json()
    assert conv["points"][0]["y"] == pytest.approx(fig.y_axis[0][1])
    # the figure is the uploader's: another extractor cannot load it
    assert clients["R2"].get("/digitise/figure/1").status_code == 400
    # a value from the digitiser carries its provenance into the events
    prov = {"figure_id": 1, "filename": "fig.png", "px": 100.0, "py": py, "calibration": cal, "mode": "click"}
    r = r1.post("/extraction/api/record", json={"study": "Xu 2019", "kind": "arm", "outcome": "MELD",
                                                "timepoint": "W4", "arm": 1, "field": "mean", "value": "22.0",
                                                "provenance": prov}, headers=hdr)
    assert r.status_code == 200
    page = r1.get("/extraction/study?s=Xu%202019").text
    assert "digitised from fig.png at pixel (100," in page


def test_digitiser_pixel_budget_and_bad_uploads(clients, tmp_path):
    from PIL import Image

    from hepatostat.web.digitise import MAX_PIXELS

    r1 = clients["R1"]
    big = tmp_path / "big.png"
    Image.new("1", (6000, 6000)).save(big)  # 36 million pixels in a small file
    assert big.stat().st_size < 1 << 20 and 6000 * 6000 > MAX_PIXELS
    r = _upload(r1, big)
    assert r.status_code == 303 and "limit" in r.headers["location"] and "fig=" not in r.headers["location"]
    txt = tmp_path / "x.png"
    txt.write_text("not an image")
    r = _upload(r1, txt)
    assert "not%20an%20image" in r.headers["location"]
    # no Origin: refused
    with open(big, "rb") as fh:
        r = r1.post("/digitise/upload", data={"csrf_token": r1.csrf, "study": "Xu 2019"},
                    files={"figure": ("b.png", fh, "image/png")})
    assert r.status_code == 403
    # body over the limit: 413 before the form is read
    r = r1.post("/digitise/upload", content=b"x" * (21 << 20), headers={**ORIGIN, "content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413




def test_digitiser_log_axes_and_three_point_calibration(clients, tmp_path):
    r1 = clients["R1"]
    hdr = {**ORIGIN, "X-CSRF-Token": r1.csrf}
    # log-log axes, two points per axis
    fig = figures.scatter(tmp_path / "log.png", log=True)
    _upload(r1, fig.path, name="log.png")
    cal = {"kind": "axes", "x_axis": [list(p) for p in fig.x_axis], "y_axis": [list(p) for p in fig.y_axis],
           "x_log": True, "y_log": True}
    res = r1.post("/digitise/api/extract", json={"figure_id": 1, "calibration": cal, "mode": "points",
                                                 "color": figures.RED}, headers=hdr).json()
    fx, fy = np.log10([p["x"] for p in res["points"]]), np.log10([p["y"] for p in res["points"]])
    for x, y in zip(np.log10(fig.truth["x"]), np.log10(fig.truth["y"])):
        assert np.min(np.hypot(fx - x, fy - y)) / 3.0 < 0.01
    # a crooked scan: three reference points anywhere
    lin = figures.scatter(tmp_path / "lin.png")
    path, refs, _turn = figures.rotate(lin, tmp_path / "rot.png", 4.0)
    _upload(r1, path, name="rot.png")
    cal = {"kind": "affine", "references": [list(r) for r in refs]}
    res = r1.post("/digitise/api/extract", json={"figure_id": 2, "calibration": cal, "mode": "points",
                                                 "color": figures.RED}, headers=hdr).json()
    fx, fy = np.array([p["x"] for p in res["points"]]), np.array([p["y"] for p in res["points"]])
    for x, y in zip(lin.truth["x"], lin.truth["y"]):
        assert np.min(np.hypot((fx - x) / 10.0, (fy - y) / 100.0)) < 0.01
    # bad calibration: a clear error, not a crash
    r = r1.post("/digitise/api/extract", json={"figure_id": 2, "calibration": {"kind": "axes"}, "mode": "convert"},
                headers=hdr)
    assert r.status_code == 400 and "y_axis" in r.json()["error"]


def test_characteristics_and_rob_through_the_form(clients):
    r1, r2, ad = clients["R1"], clients["R2"], clients["AD"]
    for c, judgement, quote in ((r1, "Low", "computer-generated list"), (r2, "Unclear", "not described")):
        save(c, {"study": "Xu 2019", "c|country": "China", "r|random_sequence_generation": judgement,
                 "q|random_sequence_generation": quote})
    page = r1.get("/extraction/study?s=Xu%202019").text
    assert "computer-generated list" in page and "not described" not in page
    adj = ad.get("/adjudicate/extraction").text
    assert "rob: random_sequence_generation" in adj and "Low" in adj and "Unclear" in adj
    assert "computer-generated list" in adj and "not described" in adj  # both support quotes
    assert "characteristic: country" not in adj  # both typed China


def test_included_records_become_studies(clients, wb_app):
    store = wb_app.state.wb.store
    rid, authors, year = store.query("SELECT record_id, authors, year FROM records WHERE duplicate_of IS NULL "
                                     "ORDER BY seq LIMIT 1")[0]
    for stage in ("title_abstract", "full_text"):
        for who in ("R1", "R2"):
            store.run(store.project.decide, rid, who, stage, "include")
    ow = clients["OW"]
    page = ow.get("/extraction").text
    first = str(authors).split(";")[0].split(",")[0].strip()
    label = f"{first} {year}".strip()
    assert "Included at full text and not yet listed" in page and label in page
    records = re.search(r'name="records" value="([^"]*)"', page).group(1)
    r = ow.post("/extraction/add", data={"csrf_token": ow.csrf, "records": records}, headers=ORIGIN)
    assert r.status_code == 303
    page = ow.get("/extraction").text
    assert f">{label}</a>" in page and "Included at full text and not yet listed" not in page
