"""A model-based test: hypothesis drives random create / rename / duplicate /
delete / add-image against the registry on a real store and against a plain
dict, and checks after every step that the two agree (entries, names, the
``profile.json`` files and each profile's images, read around the store;
a deleted profile leaves its tombstone only)."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test

from support import Raw, deleted_cleanly, png_bytes

import backends
from poolstore import NameTakenError, Pool, ProfileNotFoundError, Registry, copy_profile, unique_name

NAMES = st.sampled_from(["alpha", "Alpha", "beta", "alpha (2)", "gamma", "Beta (3)"])


def _machine(open_store, close_store):
    class RegistryModel(RuleBasedStateMachine):
        profiles = Bundle("profiles")

        def __init__(self) -> None:
            super().__init__()
            self.store, self.raw = open_store()
            self.registry = Registry(self.store)
            self.model: dict[str, str] = {}  # id -> name, in creation order
            self.images: dict[str, int] = {}  # id -> slot count
            self.touched: set[str] = set()  # profiles whose files the next check reads
            self.deleted: set[str] = set()  # ids whose folder holds a tombstone only

        def teardown(self) -> None:
            close_store(self.store)

        def taken(self, name: str, but: str | None = None) -> bool:
            return any(n.casefold() == name.casefold() for i, n in self.model.items() if i != but)

        @rule(target=profiles, name=NAMES)
        def create(self, name):
            ident = uuid.uuid4().hex
            if self.taken(name):
                with pytest.raises(NameTakenError):
                    self.registry.create(ident, name)
                return ident  # a dead id: later rules must find nothing
            self.registry.create(ident, name)
            self.model[ident], self.images[ident] = name, 0
            self.touched.add(ident)
            return ident

        @rule(ident=profiles, name=NAMES)
        def rename(self, ident, name):
            if ident not in self.model:
                with pytest.raises(ProfileNotFoundError):
                    self.registry.rename(ident, name)
            elif self.taken(name, but=ident):
                with pytest.raises(NameTakenError):
                    self.registry.rename(ident, name)
            else:
                self.registry.rename(ident, name)
                self.model[ident] = name
                self.touched.add(ident)

        @rule(target=profiles, ident=profiles, name=st.none() | NAMES)
        def duplicate(self, ident, name):
            new = uuid.uuid4().hex
            if ident not in self.model:
                with pytest.raises(ProfileNotFoundError):
                    copy_profile(self.store, ident, self.store, new_id=new, name=name)
                return new
            entry = copy_profile(self.store, ident, self.store, new_id=new, name=name)
            expected = unique_name(name or self.model[ident], set(self.model.values()))
            assert entry["name"] == expected
            self.model[new], self.images[new] = expected, self.images[ident]
            self.touched |= {ident, new}
            return new

        @rule(ident=consumes(profiles))
        def delete(self, ident):
            if ident not in self.model:
                with pytest.raises(ProfileNotFoundError):
                    self.registry.delete(ident)
                return
            self.registry.delete(ident)
            del self.model[ident], self.images[ident]
            self.deleted.add(ident)

        @rule(ident=profiles)
        def add_image(self, ident):
            if ident in self.model:
                Pool(self.store, ident).add([png_bytes(size=(2, 2))])
                self.images[ident] += 1
                self.touched.add(ident)

        @invariant()
        def registry_matches_the_model(self):
            entries = self.registry.list()
            assert [(e["id"], e["name"]) for e in entries] == list(self.model.items())
            if not self.model and not entries:
                return
            doc = json.loads(self.raw.read("profiles.json"))
            assert {e["id"]: e["name"] for e in doc["profiles"]} == self.model

        @invariant()
        def data_matches_the_model(self):
            folders = {k.split("/", 1)[0] for k in self.raw.visible_keys() if "/" in k}
            assert folders - self.deleted == set(self.model)
            assert all(deleted_cleanly(self.raw, ident) for ident in self.deleted)
            for ident in self.touched & set(self.model):
                assert json.loads(self.raw.read(f"{ident}/profile.json"))["name"] == self.model[ident]
                assert len(Pool(self.store, ident).read()["slots"]) == self.images[ident]
            self.touched.clear()

    return RegistryModel


MODEL_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_registry_model_local():
    def open_local():
        store = backends.open_store(tempfile.mkdtemp(prefix="model-"))
        return store, Raw(store)

    def close_local(store):
        shutil.rmtree(store.root, ignore_errors=True)

    run_state_machine_as_test(_machine(open_local, close_local), settings=MODEL_SETTINGS)


def test_registry_model_memory():
    def open_memory():
        store = backends.open_store(f"memory://model-{uuid.uuid4().hex}")
        return store, Raw(store)

    def close_memory(store):
        for folder in store.list_dirs():
            store.delete_prefix(folder)
        store.delete("profiles.json")

    run_state_machine_as_test(_machine(open_memory, close_memory), settings=MODEL_SETTINGS)


def test_registry_model_s3(s3_server):
    s3_server.reset()
    bucket = s3_server.new_bucket()

    def open_s3():
        store = backends.open_store(f"s3://{bucket}/{uuid.uuid4().hex}", s3_server.fast_options())
        return store, Raw(store, s3_server)

    s3_settings = settings(MODEL_SETTINGS, max_examples=8, stateful_step_count=10)
    run_state_machine_as_test(_machine(open_s3, lambda store: None), settings=s3_settings)
