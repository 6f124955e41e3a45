"""Settings: presets, environment, config file, overrides; every field is described."""

from __future__ import annotations

import pytest

from rag.config import PRESETS, Settings, load_settings
from rag.errors import ConfigError


def test_every_setting_has_a_description():
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


def test_the_default_preset_needs_no_key_and_no_network():
    settings = load_settings(preset="offline")
    assert settings.answer_mode == "extractive"
    assert settings.embedding_backend == "local"
    assert settings.chroma_host is None
    assert settings.llm_api_key is None


def test_presets_are_named_and_unknown_ones_rejected():
    assert set(PRESETS) == {"offline", "openai", "tests"}
    assert load_settings(preset="openai").answer_mode == "llm"
    with pytest.raises(ConfigError, match="Unknown preset"):
        load_settings(preset="fast")


def test_environment_variables_with_the_prefix_override_the_preset(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    monkeypatch.setenv("RAG_LLM_MODEL", "llama3")
    settings = load_settings(preset="openai")
    assert settings.top_k == 7 and settings.llm_model == "llama3" and settings.answer_mode == "llm"


def test_a_config_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    config = tmp_path / "rag.toml"
    config.write_text('top_k = 9\nanswer_mode = "llm"\nllm_model = "from-file"\n')
    monkeypatch.setenv("RAG_CONFIG_FILE", str(config))
    monkeypatch.setenv("RAG_LLM_MODEL", "from-env")
    settings = load_settings()
    assert (settings.top_k, settings.answer_mode, settings.llm_model) == (9, "llm", "from-env")


def test_keyword_overrides_win_and_none_means_unset(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    assert load_settings(top_k=3).top_k == 3
    assert load_settings(top_k=None).top_k == 7


def test_invalid_values_are_clear_errors(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "zero")
    with pytest.raises(ConfigError, match="top_k"):
        load_settings()


def test_a_missing_config_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_secrets_are_not_shown():
    settings = load_settings(llm_api_key="sk-secret")
    assert "sk-secret" not in repr(settings)
    assert settings.api_key_value() == "sk-secret"
    assert settings.with_overrides(top_k=2).api_key_value() == "sk-secret"
