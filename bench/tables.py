"""Tables at the scale of a province: importing and exporting expert tables of tens of thousands of rows.

Each measured step runs in a fresh child process (``python -m bench.tables --step ...``) on the same SQLite file,
so its peak memory is its own: **memory** is the child's peak RSS (``VmHWM``) minus its RSS just before the step
(the bot's own code, the database engine and the directory already loaded).

- **Import** (the product: ``services.pool.expert_io.import_experts`` from an XLSX file into an empty pool, one
  transaction, commit included) against the **baseline** of reading the same file with openpyxl's read-only mode
  (``iter_rows(values_only=True)``, nothing else): rows per second and the ratio import / read.
- **Export** of every expert to XLSX (the product) against the **baseline** of the same export to CSV
  (``export_experts`` with a ``.csv`` path: same query, same rows, Python's csv writer), interleaved
  (CSV, XLSX, CSV, XLSX...) so the machine's load falls on both alike: median seconds and the ratio XLSX / CSV.
- The audit chain is verified at the end (``verify_chain``), so the import's batched audit writes are checked too.

Run from the repository root::

    .venv/bin/python -m bench.tables                 # 50,000 rows: a few minutes
    .venv/bin/python -m bench.tables --rows 5000     # quicker

See ``bench/README.md`` (section ``tables``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
HEADERS = ["序号", "姓名", "性别", "工作单位及职务职称", "学历", "毕业院校", "主要专业及相关专业", "身份证号码",
           "电话（手机）电子邮箱", "民族", "出生日期", "参加工作时间", "工作单位", "工作单位统一社会信用代码", "职务",
           "职务级别", "专业职称", "职称等级", "专业类型", "临床子类", "专业细分", "首席专家", "手机", "电子邮箱",
           "邮编", "飞行检查经历", "注册会计师"]
EMPLOYERS = 500


def _credit_code(seed: int) -> str:
    from services.platform.identifiers import credit_code_check_char, org_code_check_char

    for n in range(seed * 100, seed * 100 + 100):
        org8 = f"{n:08d}"
        check = org_code_check_char(org8)
        if check != "X":
            body = "12650100" + org8 + check
            return body + credit_code_check_char(body)
    raise AssertionError("no code")


def _id_number(index: int) -> str:
    from services.platform.identifiers import id_check_char

    year, day = 1962 + index % 28, index // 28
    body = f"650102{year}{1 + day % 12:02d}{1 + day // 12 % 28:02d}{day // 336 % 1000:03d}"
    return body + id_check_char(body)


def write_source(path: Path, rows: int) -> None:
    """An annex-2 table with annex-1 columns: ``rows`` eligible clinical and supervision experts at 500 employers."""
    from openpyxl import Workbook

    codes = [_credit_code(i + 1) for i in range(EMPLOYERS)]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["医疗保障基金智能审核和监控专家库推荐人员名单"])
    sheet.append(HEADERS)
    for i in range(rows):
        employer = i % EMPLOYERS
        name = f"专家{i:06d}"
        sheet.append([i + 1, name, "", "", "本科", "新疆医科大学", "临床医学", _id_number(i), "", "汉族", "",
                      datetime(2000, 7, 1), f"医疗机构{employer:03d}", codes[employer], "医务科科长", "科级",
                      "主任医师", "正高级", "医药临床、医保监管", "医学", "心血管", "否", f"138{i:08d}",
                      f"e{i}@example.com", "832000", "是", "否"])
    workbook.save(path)


def _memory() -> tuple[int, int]:
    """(current RSS, peak RSS) of this process in bytes."""
    values: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # not Linux: the peak is then the process's own
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


async def _step(step: str, url: str, source: Path, out: Path) -> dict[str, Any]:
    from services.platform import audit
    from services.platform.roles import SYSTEM_CLI
    from services.pool import expert_io
    from storage.db import create_engine, create_session_factory
    from storage.uow import UnitOfWorkFactory

    engine = create_engine(url)
    factory = UnitOfWorkFactory(create_session_factory(engine))
    async with factory(readonly=True) as uow:  # the connection and the mappers are warm before measuring
        await uow.org_units.all()
    _reset_peak()
    before, _ = _memory()
    cpu, started = time.process_time(), time.perf_counter()
    result: dict[str, Any] = {}
    if step == "read":
        from openpyxl import load_workbook

        workbook = load_workbook(source, read_only=True, data_only=True)
        result["rows"] = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
        workbook.close()
    elif step == "import":
        async with factory() as uow:
            report = await expert_io.import_experts(uow, actor=SYSTEM_CLI, source=source, org="bureau")
        result.update(created=report.created, rejected=len(report.rejected), total=report.total)
    elif step in ("export-csv", "export-xlsx"):
        async with factory() as uow:
            exported = await expert_io.export_experts(uow, actor=SYSTEM_CLI, path=out)
        result.update(rows=exported.count, bytes=await asyncio.to_thread(os.path.getsize, out))
    elif step == "verify":
        async with factory(readonly=True) as uow:
            chain = await audit.verify_chain(uow)
        result.update(ok=chain.ok, checked=chain.checked, reason=chain.reason)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    _, peak = _memory()
    await engine.dispose()
    return {"step": step, "seconds": seconds, "cpu_s": cpu, "memory_mb": (peak - before) / 2**20,
            "rss_before_mb": before / 2**20, **result}


def run_step(step: str, url: str, source: Path, out: Path) -> dict[str, Any]:
    """Run one step in a fresh child process and return what it reports."""
    command = [sys.executable, "-m", "bench.tables", "--step", step, "--url", url, "--source", str(source),
               "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{done.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


async def _prepare(url: str) -> None:
    from services.people import orgs
    from services.platform.roles import SYSTEM_CLI
    from storage import migrate
    from storage.db import create_engine, create_session_factory
    from storage.uow import UnitOfWorkFactory

    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url)
    factory = UnitOfWorkFactory(create_session_factory(engine))
    async with factory() as uow:
        await orgs.add_org_unit(uow, actor=SYSTEM_CLI, code="bureau", name="兵团医疗保障局", kind="bureau")
    await engine.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fundwatch-tables-") as tmp:
        folder = Path(tmp)
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        source = folder / "experts.xlsx"
        write_source(source, args.rows)
        asyncio.run(_prepare(url))
        read = run_step("read", url, source, folder / "none")
        imported = run_step("import", url, source, folder / "none")
        exports: dict[str, list[dict[str, Any]]] = {"export-csv": [], "export-xlsx": []}
        for _ in range(args.repeat):
            for step, suffix in (("export-csv", "csv"), ("export-xlsx", "xlsx")):
                exports[step].append(run_step(step, url, source, folder / f"out.{suffix}"))
        verified = run_step("verify", url, source, folder / "none")
    csv_s = statistics.median(r["seconds"] for r in exports["export-csv"])
    xlsx_s = statistics.median(r["seconds"] for r in exports["export-xlsx"])
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "rows": args.rows, "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "import": {**imported, "rows_per_s": imported["total"] / imported["seconds"],
                   "ratio_to_read": imported["seconds"] / read["seconds"]},
        "read_baseline": read,
        "export": {"csv_median_s": csv_s, "xlsx_median_s": xlsx_s, "ratio_xlsx_to_csv": xlsx_s / csv_s,
                   "xlsx_memory_mb_max": max(r["memory_mb"] for r in exports["export-xlsx"]),
                   "csv_memory_mb_max": max(r["memory_mb"] for r in exports["export-csv"]), "runs": exports},
        "audit_verify": verified,
    }


def render(report: dict[str, Any]) -> str:
    imp, read, exp = report["import"], report["read_baseline"], report["export"]
    return "\n".join([
        f"rows: {report['rows']:,}",
        f"import: {imp['seconds']:.1f} s ({imp['rows_per_s']:,.0f} rows/s, {imp['memory_mb']:.0f} MB over the bot), "
        f"created {imp['created']:,}, rejected {imp['rejected']:,}; reading the file alone {read['seconds']:.1f} s: "
        f"ratio {imp['ratio_to_read']:.2f}",
        f"export: CSV {exp['csv_median_s']:.2f} s ({exp['csv_memory_mb_max']:.0f} MB), "
        f"XLSX {exp['xlsx_median_s']:.2f} s ({exp['xlsx_memory_mb_max']:.0f} MB): "
        f"ratio XLSX/CSV {exp['ratio_xlsx_to_csv']:.2f}",
        f"audit chain: {'intact' if report['audit_verify']['ok'] else 'BROKEN'} "
        f"({report['audit_verify']['checked']:,} entries)",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="export runs of each format (interleaved)")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(asyncio.run(_step(args.step, args.url, args.source, args.out))))
        return 0
    report = run(args)
    print(render(report))
    output = args.output or RESULTS / f"tables-{args.rows}.json"
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
