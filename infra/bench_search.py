"""Search and sort at scale, for infra/bench.py: builds and runs `search_bench` (integration-tests,
release), which seeds its own emulated AWS with N listed files and their search items, then
reads the first page of a rare term, a common term, the worst case and the whole table by size
and by age, reporting what each page cost. Returns table rows."""
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]


def search_rows(files):
    """Rows (what, measured, goal) for each table size in `files`."""
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "integration-tests", "--bin", "search_bench"],
                   cwd=ROOT, check=True)
    sizes = ",".join(str(n) for n in files)
    answer = subprocess.run([str(ROOT / "target" / "release" / "search_bench"), "--files", sizes],
                            cwd=ROOT, check=True, capture_output=True, text=True)
    rows = []
    for line in answer.stdout.splitlines():
        if not line.startswith("{"):
            continue
        m = json.loads(line)
        if m["case"] == "every page by size":
            rows.append((f"sort by size, {m['files']:,} listed files, every page of 100",
                         f"{m['pages']} pages, every file once and in order; at most {m['most_queries']} Query "
                         f"({m['most_items']} items) a page; emulator {m['seconds']:.0f} s in all",
                         "every file exactly once"))
            continue
        term = f" “{m['term']}”" if m["term"] else ""
        what = f"search page of 25, {m['files']:,} listed files: {m['case']}{term}"
        found = f"{m['returned']} shown{', more' if m['more'] else ''}"
        measured = (f"{m['queries']} Query ({m['items_read']:,} items) + {m['record_reads']} BatchGetItem "
                    f"({m['records_read']} records); {found}; emulator {m['median_s']:.2f} s "
                    f"({m['min_s']:.2f}–{m['max_s']:.2f}, n=3)")
        rows.append((what, measured, "calls per page do not grow with the files; a rare term's first page complete"))
    return rows
