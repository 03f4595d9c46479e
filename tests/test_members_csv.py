"""Members CSV edge cases: a broken row never swallows or stops the others; Excel's files are read."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from calltracker.cli import cli
from calltracker.members_csv import read_members, read_members_file

HEADER = "email,name,organisation,region,language,themes\n"


def test_an_unterminated_quote_is_reported_and_the_following_rows_are_kept() -> None:
    text = (HEADER + "anna@aero.it,Anna,AeroLab,lombardia,it,\n"
            'bruno@x.it,"Bruno,X,piemonte,it,\n'
            "carla@sat.it,Carla,Sat,liguria,en,\n"
            "dario@uav.it,Dario,UAV,liguria,it,\n")
    found = read_members(text)
    assert [(line, m.email) for line, m in found.good] == [(2, "anna@aero.it"), (4, "carla@sat.it"),
                                                            (5, "dario@uav.it")]
    assert [(p.line, p.message.split(" (")[0]) for p in found.bad] == [(3, "unterminated quote")]


def test_a_field_over_128_kib_is_one_rejected_row() -> None:
    text = HEADER + f"anna@aero.it,{'A' * (200 * 1024)},X,,it,\n" + "carla@sat.it,Carla,Sat,liguria,en,\n"
    found = read_members(text)
    assert [m.email for _, m in found.good] == ["carla@sat.it"]
    assert [(p.line, p.message) for p in found.bad] == [(2, "a field is longer than 128 KiB")]


def test_italian_headers_and_extra_columns_are_accepted() -> None:
    text = ("email;nome;organizzazione;regione;lingua;temi;telefono;note\n"
            "anna@aero.it;Anna;AeroLab;Lombardia;it;space_economy;02 123;socia dal 2019\n")
    found = read_members(text)
    ((_, anna),) = found.good
    assert (anna.name, anna.organisation, anna.region, anna.themes) == (
        "Anna", "AeroLab", "lombardia", ("space_economy",))
    assert found.ignored_columns == ("telefono", "note") and found.bad == []


def test_windows_1252_and_utf8_with_or_without_bom_are_read_and_named() -> None:
    text = HEADER + "nicolo@aero.it,Niccolò Müller,Società Aerospaziale,piemonte,it,\n"
    for data, encoding in ((text.encode("cp1252"), "cp1252 (Windows)"), (text.encode("utf-8"), "utf-8"),
                           (b"\xef\xbb\xbf" + text.encode("utf-8"), "utf-8 (with BOM)")):
        found = read_members_file(data)
        assert found.encoding == encoding
        ((_, member),) = found.good
        assert (member.name, member.organisation) == ("Niccolò Müller", "Società Aerospaziale")


def test_members_import_of_an_excel_file_says_which_encoding_it_used(config_file: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "soci.csv"
    csv_file.write_bytes(("email;nome;organizzazione;regione;lingua;temi;telefono\n"
                          "nicolo@aero.it;Niccolò;Società;Piemonte;it;;011\n"
                          'rotto@aero.it;"Rotto;X;;it;;\n'
                          "dopo@aero.it;Dopo;Y;;it;;\n").encode("cp1252"))
    result = CliRunner().invoke(cli, ["--config", str(config_file), "members", "import", str(csv_file),
                                      "--cluster", "DAP"])
    assert result.exit_code == 1, result.output
    assert "read as cp1252 (Windows)" in result.stderr
    assert "ignored column(s): telefono" in result.stderr
    assert f"{csv_file}:3: rejected: unterminated quote" in result.stderr
    assert "DAP: 2 created" in result.stdout
    listed = CliRunner().invoke(cli, ["--config", str(config_file), "members", "list", "--json"])
    assert sorted((m["email"], m["name"]) for m in json.loads(listed.stdout)) == [
        ("dopo@aero.it", "Dopo"), ("nicolo@aero.it", "Niccolò")]
