"""Fixtures shared by the engine tests, built once per session where building is the cost."""

from __future__ import annotations

import shutil

import pytest

from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.data import load_dataset
from ganviz_gui.core.data_classifier import classifier_for
from tests.core.helpers import own_home


@pytest.fixture(scope="session")
def digits_classifiers(tmp_path_factory):
    """A folder with the 8x8 digits classifier trained once for the session (1.3 s). Training is
    seeded, so a test that copies it into its cache gets the weights it would train itself."""
    folder = tmp_path_factory.mktemp("classifiers")
    with own_home(tmp_path_factory):
        classifier_for(load_dataset(TrainingConfig(dataset="digits", model="dcgan")), folder)
    return folder


@pytest.fixture
def cached_digits_classifier(digits_classifiers, isolated_home):
    """This test's GANVIZ_HOME with the digits classifier already in its cache, where evaluating
    a digits generator would otherwise train it (training it is tested in test_data_classifier)."""
    cache = isolated_home / "cache" / "classifiers"
    shutil.copytree(digits_classifiers, cache)
    return cache
