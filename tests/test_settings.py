from pathlib import Path

import pytest

from doltplane import Settings
from doltplane.config import ENVIRONMENT_VARIABLES, mask_password
from doltplane.errors import ConfigError


def test_priority_arguments_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    (tmp_path / "doltplane.toml").write_text("retention_days = 3\nwrite_retries = 4\nsite = 'f'\n")
    env = {"DOLTPLANE_WRITE_RETRIES": "6", "DOLTPLANE_SITE": "e"}
    settings = Settings.load({"data_dir": tmp_path, "site": "a"}, env=env)
    assert settings.site == "a"  # argument
    assert settings.write_retries == 6  # environment, coerced to int
    assert settings.retention_days == 3.0  # file
    assert settings.cleanup_batch_size == 1000  # default


def test_every_setting_has_one_environment_variable() -> None:
    assert ENVIRONMENT_VARIABLES["data_dir"] == "DOLTPLANE_DATA_DIR"
    assert len(ENVIRONMENT_VARIABLES) == len(set(ENVIRONMENT_VARIABLES.values()))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"retention_days": -1}, "must not be negative"),
        ({"write_retries": "many"}, "must be int"),
        ({"bogus": 1}, "unknown setting"),
        ({"url": "not a url"}, "must be a URL"),
    ],
)
def test_bad_settings_are_config_errors(source: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(source, env={})


def test_malformed_config_file(tmp_path: Path) -> None:
    (tmp_path / "doltplane.toml").write_text("retention_days = [\n")
    with pytest.raises(ConfigError, match=r"doltplane\.toml"):
        Settings.load({"data_dir": tmp_path}, env={})


def test_passwords_are_masked() -> None:
    assert (
        mask_password("mysql+pymysql://root:s3cret@db:3306/x")
        == "mysql+pymysql://root:***@db:3306/x"
    )
    settings = Settings.load({"url": "mysql+pymysql://u:pw@h/db"}, env={})
    assert "pw" not in settings.display()["url"]


def test_data_dir_given_as_text_is_a_path(tmp_path: Path) -> None:
    assert Settings(data_dir=str(tmp_path)).data_dir == tmp_path  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="data_dir"):
        Settings(data_dir=42)  # type: ignore[arg-type]
