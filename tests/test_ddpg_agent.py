"""DDPG agent: buffer, OU noise, n-step returns, updates, options, checkpoints, bad input."""

import os

import numpy as np
import pytest
import torch

from ddpg_agent import (
    ACTOR_FILE,
    CHECKSUM_FILE,
    CRITIC2_FILE,
    CRITIC_FILE,
    Agent,
    CheckpointError,
    DDPGConfig,
    DivergedError,
    NStepAccumulator,
    OUNoise,
    ReplayBuffer,
)
from model import Actor

S, A, N = 33, 4, 20
SMALL = {"buffer_size": 10_000, "batch_size": 32}


def make_agent(seed: int = 0, **overrides) -> Agent:
    return Agent(S, A, N, DDPGConfig(**{**SMALL, **overrides}), seed=seed, device="cpu")


def random_steps(agent: Agent, n_steps: int, seed: int = 0) -> None:
    """Feed the agent n_steps of random transitions of all arms."""
    rng = np.random.default_rng(seed)
    for _ in range(n_steps):
        states = rng.standard_normal((N, S)).astype(np.float32)
        agent.step(
            states,
            agent.act(states),
            rng.uniform(0, 0.04, N),
            rng.standard_normal((N, S)),
            np.zeros(N, dtype=bool),
        )


def fixed_batch(agent: Agent, size: int = 64, seed: int = 0):
    agent.memory = ReplayBuffer(size, S, A, seed=seed)
    rng = np.random.default_rng(seed)
    states = rng.standard_normal((size, S))
    agent.memory.add(
        states,
        rng.uniform(-1, 1, (size, A)),
        states[:, 0],  # a learnable reward
        rng.standard_normal((size, S)),
        np.full(size, 0.99),
    )
    return agent.memory.sample(size)


# ----- replay buffer -------------------------------------------------------------------------
def add_rows(buffer: ReplayBuffer, values: list[float]) -> None:
    """Rows whose every column holds one of the given values."""
    col = np.array(values, dtype=np.float32)[:, None]
    buffer.add(np.tile(col, S), np.tile(col, A), col[:, 0], np.tile(col, S), col[:, 0])


def test_buffer_wraps_around_keeping_the_newest_rows():
    buffer = ReplayBuffer(5, S, A, seed=0)
    add_rows(buffer, [1, 2, 3])
    assert len(buffer) == 3
    add_rows(buffer, [4, 5, 6, 7])
    assert len(buffer) == 5
    seen = set()
    for _ in range(50):
        seen |= set(buffer.sample(5).states[:, 0].tolist())
    assert seen == {3.0, 4.0, 5.0, 6.0, 7.0}


def test_buffer_sample_shapes_dtypes_and_consistent_rows():
    buffer = ReplayBuffer(100, S, A, seed=0)
    add_rows(buffer, list(range(10)))
    batch = buffer.sample(7)
    shapes = [(7, S), (7, A), (7, 1), (7, S), (7, 1)]
    assert [tuple(t.shape) for t in batch] == shapes
    assert all(t.dtype == torch.float32 and t.device.type == "cpu" for t in batch)
    for t in batch[1:]:  # every column of a sampled row comes from the same transition
        assert torch.equal(t[:, 0], batch.states[:, 0])


def test_buffer_rejects_oversampling_and_overfilling():
    buffer = ReplayBuffer(4, S, A)
    add_rows(buffer, [1, 2])
    with pytest.raises(ValueError, match="cannot sample 3"):
        buffer.sample(3)
    with pytest.raises(ValueError, match="capacity 4"):
        add_rows(buffer, [1, 2, 3, 4, 5])


# ----- OU noise ------------------------------------------------------------------------------
def test_ou_noise_has_zero_mean_theoretical_spread_and_independent_arms():
    theta, sigma = 0.15, 0.2
    noise = OUNoise((N, A), theta, sigma, seed=0)
    samples = np.array([noise.sample() for _ in range(20_000)])  # (T, N, A)
    assert abs(samples.mean()) < 0.02  # the course's uniform increments give ~ +0.67
    assert samples[1000:].std() == pytest.approx(sigma / np.sqrt(theta * (2 - theta)), rel=0.05)
    series = samples[:, :, 0].T  # joint 0 of every arm
    correlation = np.corrcoef(series)[~np.eye(N, dtype=bool)]
    assert np.abs(correlation).max() < 0.1
    noise.reset()
    assert not noise.state.any()


def test_ou_scale_decays_to_its_floor_per_episode_or_per_step():
    agent = make_agent(noise_decay=0.5, noise_min=0.2)
    scales = []
    for _ in range(4):
        agent.reset()
        scales.append(agent.noise.scale)
    assert scales == [1.0, 0.5, 0.25, 0.2]
    agent = make_agent(noise_decay=0.5, noise_decay_per="step")
    agent.reset()
    states = np.zeros((N, S), dtype=np.float32)
    agent.act(states)
    agent.act(states)
    agent.act(states, add_noise=False)  # a greedy action does not decay the noise
    assert agent.noise.scale == 0.25


# ----- n-step returns ------------------------------------------------------------------------
def test_n_step_returns_discounts_terminals_and_flush():
    gamma = 0.5
    acc = NStepAccumulator(3, gamma)
    states = [np.full((2, 1), t, dtype=np.float32) for t in range(5)]  # state t at time t
    rewards = [np.array([1.0, 1.0]), np.array([2.0, 2.0]), np.array([4.0, 4.0]), np.ones(2)]
    terminals = [np.array([False, False]), np.array([False, True])] + [np.zeros(2, bool)] * 2
    out = []
    for t in range(4):
        out += acc.push(states[t], states[t], rewards[t], states[t + 1], terminals[t])
    assert len(out) == 2  # windows starting at t = 0 and 1
    out += acc.flush()
    assert len(out) == 4 and acc.flush() == []
    s, _, ret, nxt, disc = out[0]  # from t = 0
    # arm 0: 1 + 0.5*2 + 0.25*4, bootstrapped from s3 with 0.5**3
    # arm 1: terminal reached at t = 1: 1 + 0.5*2, no bootstrap, successor s2
    np.testing.assert_allclose(ret, [3.0, 2.0])
    np.testing.assert_allclose(disc, [0.125, 0.0])
    np.testing.assert_array_equal(nxt[:, 0], [3, 2])
    _, _, ret, nxt, disc = out[3]  # from t = 3, flushed after one step
    np.testing.assert_allclose(ret, [1.0, 1.0])
    np.testing.assert_allclose(disc, [0.5, 0.5])
    np.testing.assert_array_equal(nxt[:, 0], [4, 4])


def test_one_step_transitions_bootstrap_with_gamma():
    acc = NStepAccumulator(1, 0.99)
    s = np.zeros((2, S), dtype=np.float32)
    ((_, _, ret, _, disc),) = acc.push(s, s[:, :A], np.array([0.5, 1.0]), s, np.array([0, 1]) > 0)
    np.testing.assert_allclose(ret, [0.5, 1.0])
    np.testing.assert_allclose(disc, [0.99, 0.0])


def test_agent_flushes_n_step_windows_at_reset():
    agent = make_agent(n_step=3)
    agent.reset()
    random_steps(agent, 5)
    assert len(agent.memory) == 3 * N
    agent.reset()
    assert len(agent.memory) == 5 * N


# ----- acting and the learning schedule ------------------------------------------------------
def test_act_returns_bounded_float32_actions_and_greedy_is_deterministic():
    agent = make_agent()
    states = np.random.default_rng(0).standard_normal((N, S))
    noisy = agent.act(states)
    assert noisy.shape == (N, A) and noisy.dtype == np.float32
    assert np.all(np.abs(noisy) <= 1)
    np.testing.assert_array_equal(agent.act(states, False), agent.act(states, False))
    assert not np.array_equal(noisy, agent.act(states, False))
    assert agent.act(states[:3], add_noise=False).shape == (3, A)  # greedy: any batch


def test_warm_up_acts_uniformly_then_follows_the_policy():
    agent = make_agent(warmup_steps=2, ou_sigma=0.0)
    states = np.random.default_rng(0).standard_normal((N, S)).astype(np.float32)
    greedy = agent.act(states, add_noise=False)
    warm = agent.act(states)
    assert warm.max() > 0.5 and warm.min() < -0.5  # greedy actions start near 0
    random_steps(agent, 2)
    np.testing.assert_array_equal(agent.act(states), agent.act(states, add_noise=False))
    assert not np.array_equal(greedy, warm)


def test_learns_iterations_times_every_learn_every_steps_once_a_batch_is_stored():
    agent = make_agent(batch_size=50, learn_every=4, learn_iterations=3, n_step=1)
    random_steps(agent, 2)  # 40 transitions, and no learning step reached yet
    assert agent.updates == 0
    random_steps(agent, 10)  # steps 3..12: learning at steps 4, 8, 12
    assert agent.updates == 9


def test_policy_delay_updates_the_actor_every_other_critic_update():
    agent = make_agent(policy_delay=2)
    batch = fixed_batch(agent)
    before = agent.actor_local.fc3.weight.clone()
    assert agent.learn(batch)[1] is None
    assert torch.equal(before, agent.actor_local.fc3.weight)
    assert agent.learn(batch)[1] is not None
    assert not torch.equal(before, agent.actor_local.fc3.weight)


# ----- updates -------------------------------------------------------------------------------
def test_soft_update_is_a_lerp_of_every_target_parameter():
    agent = make_agent(tau=0.1, twin_critics=True)
    with torch.no_grad():
        for p in agent._local_params:
            p.normal_()
    locals_ = [p.clone() for p in agent._local_params]
    targets = [p.clone() for p in agent._target_params]
    agent.soft_update()
    assert len(targets) == len(locals_) > 0
    for new, old, local in zip(agent._target_params, targets, locals_, strict=True):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * local)


def test_target_networks_keep_no_autograd_history(tmp_path):
    # A soft update or load under grad mode once chained a LerpBackward node per target
    # parameter and update: a leak of ~0.5 MB per update in long runs.
    agent = make_agent(twin_critics=True)
    batch = fixed_batch(agent)
    for _ in range(3):
        agent.learn(batch)
    agent.save(tmp_path)
    agent.load(tmp_path)
    for p in agent._target_params:
        assert p.is_leaf and not p.requires_grad and p.grad_fn is None


def test_critic_loss_falls_on_a_fixed_batch():
    agent = make_agent()
    batch = fixed_batch(agent)
    losses = [agent.update_critic(batch).item() for _ in range(200)]
    assert losses[-1] < 0.2 * losses[0]


def test_actor_update_raises_q_and_leaves_the_critic_alone():
    agent = make_agent()
    states = fixed_batch(agent).states
    critic_before = [p.clone() for p in agent.critic_local.parameters()]

    def q() -> float:
        with torch.no_grad():
            return agent.critic_local(states, agent.actor_local(states)).mean().item()

    q_before = q()
    for _ in range(30):
        agent.update_actor(states)
    assert q() > q_before
    for p, old in zip(agent.critic_local.parameters(), critic_before, strict=True):
        assert torch.equal(p, old) and p.grad is None


def test_twin_critic_targets_take_the_smaller_estimate():
    agent = make_agent(twin_critics=True)
    batch = fixed_batch(agent)
    with torch.no_grad():
        agent.critic2_target.fc3.bias.fill_(-1.0)  # make critic 2 clearly the pessimist
        a = agent.actor_target(batch.next_states)
        q1 = agent.critic_target(batch.next_states, a)
        q2 = agent.critic2_target(batch.next_states, a)
    assert (q2 < q1).all()
    expected = batch.rewards + batch.discounts * torch.minimum(q1, q2)
    torch.testing.assert_close(agent.compute_targets(batch), expected)


def test_target_policy_smoothing_perturbs_targets_only_when_enabled():
    batch = fixed_batch(plain := make_agent())
    torch.testing.assert_close(plain.compute_targets(batch), plain.compute_targets(batch))
    smooth = make_agent(target_noise=0.2, target_noise_clip=0.5)
    smooth.memory = plain.memory
    first, second = smooth.compute_targets(batch), smooth.compute_targets(batch)
    assert not torch.equal(first, second)
    torch.testing.assert_close(first, plain.compute_targets(batch), atol=0.05, rtol=0)


def test_same_seed_same_training_on_cpu():
    runs = []
    for seed in (0, 0, 1):
        agent = make_agent(seed=seed, learn_every=2, learn_iterations=2)
        random_steps(agent, 6)
        runs.append(torch.cat([p.flatten() for p in agent.actor_local.parameters()]))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_device_defaults_to_cuda_when_present():
    agent = Agent(S, A, N, DDPGConfig(**SMALL))
    assert agent.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_without_batch_norm_and_with_other_sizes_the_agent_still_learns():
    agent = make_agent(batch_norm=False, actor_hidden=(64, 32), critic_hidden=(32, 32))
    assert agent.actor_local.fc1.out_features == 64
    random_steps(agent, 40)
    assert agent.updates > 0


def test_output_init_and_critic_action_input_reach_every_critic():
    agent = make_agent(output_init=None, critic_action_input=True, twin_critics=True)
    for critic in (agent.critic_local, agent.critic2_local):
        assert critic.fc1.in_features == S + A and critic.fc2.in_features == 128
        assert critic.fc3.weight.abs().max() > 3e-3  # the fan-in bound, not the DDPG paper's
    assert agent.actor_local.fc3.weight.abs().max() > 3e-3
    random_steps(agent, 40)
    assert agent.updates > 0


# ----- checkpoints ---------------------------------------------------------------------------
def test_save_load_round_trip_gives_identical_actions(tmp_path):
    agent = make_agent(seed=0, learn_every=2)
    random_steps(agent, 6)
    agent.save(tmp_path)
    assert sorted(os.listdir(tmp_path)) == [ACTOR_FILE, CRITIC_FILE, CHECKSUM_FILE]  # no temps
    other = make_agent(seed=1)
    other.load(tmp_path)
    states = np.random.default_rng(3).standard_normal((N, S))
    np.testing.assert_array_equal(agent.act(states, False), other.act(states, False))
    for target, local in zip(other._target_params, other._local_params, strict=True):
        assert torch.equal(target, local)


def test_checkpoints_follow_the_course_convention(tmp_path):
    agent = make_agent()
    agent.save(tmp_path)
    actor = Actor(33, 4)
    actor.load_state_dict(torch.load(tmp_path / ACTOR_FILE))
    assert oct(os.stat(tmp_path / ACTOR_FILE).st_mode & 0o777) == "0o644"


def test_twin_critic_checkpoints_include_the_second_critic(tmp_path):
    agent = make_agent(twin_critics=True)
    agent.save(tmp_path)
    assert (tmp_path / CRITIC2_FILE).is_file()
    other = make_agent(seed=5, twin_critics=True)
    other.load(tmp_path)
    assert torch.equal(other.critic2_local.fc3.weight, agent.critic2_local.fc3.weight)


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=ACTOR_FILE):
        make_agent().load(tmp_path)


def test_corrupt_checkpoint_names_the_file(tmp_path):
    make_agent().save(tmp_path)
    (tmp_path / CHECKSUM_FILE).unlink()  # as files from elsewhere come: no checksums
    (tmp_path / CRITIC_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=f"{CRITIC_FILE} is not a readable"):
        make_agent().load(tmp_path)


def test_mismatched_checkpoint_says_which_keys_and_shapes_differ(tmp_path):
    make_agent(actor_hidden=(64, 128)).save(tmp_path)
    with pytest.raises(CheckpointError, match=r"fc1\.weight has shape \(64, 33\), expected"):
        make_agent().load(tmp_path)
    make_agent(batch_norm=False).save(tmp_path)
    with pytest.raises(CheckpointError, match=r"missing keys \['bn0\.bias"):
        make_agent().load(tmp_path)
    make_agent(critic_action_input=False).save(tmp_path)
    with pytest.raises(CheckpointError, match="critic_action_input"):
        make_agent().load(tmp_path)


def test_non_finite_checkpoint_is_rejected(tmp_path):
    agent = make_agent()
    agent.save(tmp_path)
    with torch.no_grad():
        agent.actor_local.fc2.bias[0] = float("nan")
    torch.save(agent.actor_local.state_dict(), tmp_path / ACTOR_FILE)  # Agent.save refuses
    (tmp_path / CHECKSUM_FILE).unlink()  # which would refuse the file first
    with pytest.raises(CheckpointError, match=r"fc2\.bias contains NaN"):
        make_agent().load(tmp_path)


# ----- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("states", "message"),
    [
        (np.zeros((N, S + 1)), r"states must have shape \(20, 33\)"),
        (np.zeros((N - 1, S)), r"states must have shape \(20, 33\)"),
        (np.zeros(S), r"states must have shape"),
        (np.full((N, S), np.nan), "states contains NaN"),
        ([["a"] * S] * N, "states cannot be converted"),
    ],
)
def test_act_rejects_bad_states(states, message):
    with pytest.raises(ValueError, match=message):
        make_agent().act(states)


def test_step_rejects_bad_transitions():
    agent = make_agent()
    good = {
        "states": np.zeros((N, S)),
        "actions": np.zeros((N, A)),
        "rewards": np.zeros(N),
        "next_states": np.zeros((N, S)),
        "terminals": np.zeros(N, dtype=bool),
    }
    bad = {
        "actions": np.zeros((N, A + 1)),
        "rewards": np.full(N, np.inf),
        "next_states": np.zeros((N, S, 1)),
        "terminals": np.zeros(N + 1),
    }
    for name, value in bad.items():
        with pytest.raises(ValueError, match=name):
            agent.step(**{**good, name: value})
    assert len(agent.memory) == 0


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"batch_size": 0}, "batch_size must be an int >= 1, got 0"),
        ({"tau": 0.0}, r"tau must be a number in \(0, 1\], got 0.0"),
        ({"noise_decay_per": "episodes"}, "noise_decay_per must be"),
        ({"actor_hidden": (256,)}, "actor_hidden must be two ints >= 1"),
        ({"critic_grad_clip": -1.0}, "critic_grad_clip must be None or a finite number > 0"),
        ({"n_step": 1.5}, "n_step must be an int >= 1"),
        # each once gave Python internals or an agent that never learns
        ({"buffer_size": 100, "batch_size": 256}, r"buffer_size must be >= batch_size \(256\)"),
        ({"gamma": "abc"}, r"gamma must be a number in \[0, 1\], got 'abc'"),
        ({"lr_actor": float("inf")}, "lr_actor must be a finite number > 0, got inf"),
        ({"actor_hidden": 64}, "actor_hidden must be two ints >= 1, e.g. 256,128, got 64"),
        ({"twin_critics": 1}, "twin_critics must be true or false"),
        ({"output_init": 0.0}, "output_init must be None or a finite number > 0"),
        ({"critic_action_input": "yes"}, "critic_action_input must be true or false"),
    ],
)
def test_config_rejects_bad_values_naming_field_and_range(overrides, message):
    with pytest.raises(ValueError, match=message):
        DDPGConfig(**overrides)


def test_buffer_smaller_than_one_step_of_all_arms_is_refused():
    with pytest.raises(ValueError, match=r"buffer_size must be >= the number of arms \(20\)"):
        Agent(33, 4, 20, DDPGConfig(buffer_size=10, batch_size=4), device="cpu")


def test_an_agent_too_large_for_memory_names_its_sizes():
    """torch's allocator says only "can't allocate memory" in C++; every caller (train.py, a
    study trial, a notebook) gets the settings to change. 40 GB for one layer: more than
    any machine this runs on."""
    with pytest.raises(MemoryError, match=r"actor_hidden \(100000, 100000\), critic_hidden"):
        Agent(33, 4, 20, DDPGConfig(actor_hidden=(100000, 100000)), device="cpu")


def test_a_diverged_network_neither_acts_nor_saves(tmp_path):
    """NaN weights are never saved or used (they once replaced the checkpoint, NaN actions
    were sent on)."""
    agent = make_agent()
    agent.save(tmp_path)
    before = (tmp_path / ACTOR_FILE).read_bytes()
    with torch.no_grad():
        agent.actor_local.fc1.weight[0, 0] = float("nan")
    with pytest.raises(DivergedError, match="actions are NaN"):
        agent.act(np.zeros((N, S)))
    with pytest.raises(DivergedError, match="fc1.weight of checkpoint_actor.pth is NaN"):
        agent.save(tmp_path)
    with pytest.raises(DivergedError):
        agent.save(tmp_path / "new")
    assert (tmp_path / ACTOR_FILE).read_bytes() == before and not (tmp_path / "new").exists()


def test_save_removes_temporary_files_a_killed_save_left(tmp_path):
    """A save removes the hidden zero-byte .tmp files that killed saves left behind."""
    stale = [tmp_path / f".{name}.k{i}.tmp" for name in (ACTOR_FILE, CRITIC_FILE) for i in (1, 2)]
    for path in stale:
        path.touch()
    make_agent().save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [ACTOR_FILE, CRITIC_FILE, CHECKSUM_FILE]


def test_a_corrupted_or_mismatched_checkpoint_file_is_refused(tmp_path):
    """64 flipped bytes in the middle of the weights once loaded silently."""
    agent = make_agent(seed=0)
    agent.save(tmp_path)
    assert (tmp_path / CHECKSUM_FILE).read_text().count("  checkpoint_") == 2
    other = make_agent(seed=1)
    other.load(tmp_path)  # intact: loads
    actor = tmp_path / ACTOR_FILE
    data = bytearray(actor.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    actor.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        other.load(tmp_path)
    # A file from another save (as a kill between a save's files would leave it) is refused too.
    make_agent(seed=2).save(tmp_path / "other")
    os.replace(tmp_path / "other" / ACTOR_FILE, actor)
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        other.load(tmp_path)
