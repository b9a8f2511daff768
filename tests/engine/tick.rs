//! The market generator: pinned output for seed 42, reproducibility, shape of the stream.

use tickbench::engine::tick::{MarketConfig, MarketGenerator, Tick};

fn ticks(cfg: MarketConfig, n: usize) -> Vec<Tick> {
    MarketGenerator::new(cfg).take_vec(n)
}

#[test]
fn seed_42_gives_these_first_ticks_on_every_machine() {
    // (ts_ns, price bits, symbol, size): any change to the generator's arithmetic shows here.
    let expected: [(u64, u64, u32, u32); 5] = [
        (375, 0x4062_a3dc_02c9_988c, 4, 148),
        (1547, 0x4052_450b_e8d5_daeb, 29, 15),
        (2342, 0x405f_c12f_d5d1_edd6, 5, 68),
        (3937, 0x4060_0eb0_ffbf_9ca0, 36, 145),
        (5893, 0x4060_1f36_7a8f_d8e4, 27, 192),
    ];
    let got = ticks(MarketConfig::default(), 5);
    for (t, (ts, bits, symbol, size)) in got.iter().zip(expected) {
        assert_eq!(
            (t.ts_ns, t.price.to_bits(), t.symbol, t.size),
            (ts, bits, symbol, size),
            "{t:?}"
        );
    }
}

#[test]
fn same_seed_same_ticks_other_seed_other_ticks() {
    let a = ticks(MarketConfig::new(7, 100), 10_000);
    let b = ticks(MarketConfig::new(7, 100), 10_000);
    let c = ticks(MarketConfig::new(8, 100), 10_000);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn take_vec_continues_the_iterator() {
    let mut g = MarketGenerator::new(MarketConfig::default());
    let first = g.take_vec(100);
    let next: Vec<Tick> = g.by_ref().take(100).collect();
    let all = ticks(MarketConfig::default(), 200);
    assert_eq!(first, all[..100]);
    assert_eq!(next, all[100..]);
}

#[test]
fn ticks_are_well_formed() {
    let cfg = MarketConfig {
        stormy_volatility: 0.1,
        regime_switch_probability: 0.05,
        ..MarketConfig::new(3, 1000)
    };
    let mut last_ts = 0;
    for t in MarketGenerator::new(cfg.clone()).take(200_000) {
        assert!(t.ts_ns >= last_ts, "time went backwards at {t:?}");
        last_ts = t.ts_ns;
        assert!(t.symbol < cfg.symbols);
        assert!(t.price.is_finite() && t.price > 0.0, "{t:?}");
        assert!((1..2 * cfg.mean_size).contains(&t.size), "{t:?}");
    }
}

/// Share of ticks whose symbol equals the previous tick's.
fn repeat_share(cfg: MarketConfig) -> f64 {
    let v = ticks(cfg, 100_000);
    let repeats = v.windows(2).filter(|w| w[0].symbol == w[1].symbol).count();
    repeats as f64 / (v.len() - 1) as f64
}

#[test]
fn bursts_cluster_ticks_of_one_symbol() {
    let calm = repeat_share(MarketConfig {
        burst_probability: 0.0,
        ..MarketConfig::default()
    });
    let bursty = repeat_share(MarketConfig::default());
    // Without bursts a repeat has chance 1/64; with them runs of up to 32 ticks add far more.
    assert!(
        (calm - 1.0 / 64.0).abs() < 0.005,
        "no-burst repeat share {calm}"
    );
    assert!(bursty > 5.0 * calm, "burst repeat share {bursty} vs {calm}");
}

#[test]
fn volatility_regimes_switch_per_symbol() {
    // Calm symbols do not move at all here, stormy ones do: both kinds of step must occur.
    let cfg = MarketConfig {
        calm_volatility: 0.0,
        stormy_volatility: 0.01,
        regime_switch_probability: 0.01,
        ..MarketConfig::new(5, 4)
    };
    let v = ticks(cfg, 50_000);
    let mut last = [0.0f64; 4];
    let (mut still, mut moved) = (0, 0);
    for t in &v {
        let prev = std::mem::replace(&mut last[t.symbol as usize], t.price);
        if prev != 0.0 {
            if prev == t.price {
                still += 1;
            } else {
                moved += 1;
            }
        }
    }
    assert!(still > 1000 && moved > 1000, "still {still}, moved {moved}");
}

#[test]
fn invalid_config_names_the_field() {
    let bad = MarketConfig {
        symbols: 0,
        ..MarketConfig::default()
    };
    let e = bad.validate().unwrap_err();
    assert_eq!(e.field, "symbols");
    assert!(e.to_string().contains("symbols = 0"), "{e}");
    let bad = MarketConfig {
        burst_probability: 1.5,
        ..MarketConfig::default()
    };
    assert_eq!(bad.validate().unwrap_err().field, "burst_probability");
    assert!(MarketConfig::default().validate().is_ok());
}

#[test]
#[should_panic(expected = "stormy_volatility")]
fn generator_refuses_invalid_config() {
    MarketGenerator::new(MarketConfig {
        stormy_volatility: -1.0,
        ..MarketConfig::default()
    });
}
