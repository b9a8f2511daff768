//! The signal engine: its indicators equal the stand-alone ones, its signals equal a plain
//! re-statement of the rules, and crafted series give the signals a trader would expect.

use tickbench::engine::indicators::{Bollinger, Ema, Macd, Rsi, Sma, Vwap};
use tickbench::engine::signal::{
    BreakoutRule, EngineConfig, MacdRsiRule, Reason, Side, Signal, SignalEngine,
};
use tickbench::engine::tick::{MarketConfig, MarketGenerator, Tick};

/// A slow, obvious statement of the engine's rules over the stand-alone indicators.
struct Model {
    cfg: EngineConfig,
    sma: Sma,
    bands: Bollinger,
    ema: Ema,
    rsi: Rsi,
    macd: Macd,
    vwap: Vwap,
    ticks: u64,
    prev_hist_positive: Option<bool>,
    prev_zone: i8,
}

impl Model {
    fn new(cfg: &EngineConfig) -> Self {
        Self {
            sma: Sma::new(cfg.bollinger_period),
            bands: Bollinger::new(cfg.bollinger_period, cfg.bollinger_k),
            ema: Ema::new(cfg.trend_period),
            rsi: Rsi::new(cfg.rsi_period),
            macd: Macd::new(cfg.macd_fast, cfg.macd_slow, cfg.macd_signal),
            vwap: Vwap::new(),
            ticks: 0,
            prev_hist_positive: None,
            prev_zone: 0,
            cfg: cfg.clone(),
        }
    }

    fn on_tick(&mut self, t: &Tick, out: &mut Vec<Signal>) {
        let x = t.price;
        self.ticks += 1;
        let sma = self.sma.update(x);
        let bands = self.bands.update(x);
        let ema = self.ema.update(x);
        let rsi = self.rsi.update(x);
        let macd = self.macd.update(x);
        let vwap = self.vwap.update(x, t.size).unwrap();
        let mut signal = |side, strength: f64, reason| {
            out.push(Signal {
                symbol: t.symbol,
                ts_ns: t.ts_ns,
                side,
                strength: strength.clamp(0.0, 1.0),
                reason,
            })
        };

        let hist_positive = macd.map(|m| m.histogram > 0.0);
        if let (Some(now), Some(before), Some(rule)) =
            (hist_positive, self.prev_hist_positive, &self.cfg.macd_rsi)
        {
            if let (true, Some(rsi)) = (now != before, rsi) {
                if now && rsi <= rule.rsi_overbought {
                    let s = (rule.rsi_overbought - rsi) / rule.rsi_overbought;
                    signal(Side::Buy, s, Reason::MacdCrossRsi);
                } else if !now && rsi >= rule.rsi_oversold {
                    let s = (rsi - rule.rsi_oversold) / (100.0 - rule.rsi_oversold);
                    signal(Side::Sell, s, Reason::MacdCrossRsi);
                }
            }
        }
        self.prev_hist_positive = hist_positive;

        let zone = match bands {
            // Equivalent to x > upper / x < lower, up to the rounding of σ.
            Some(b) if (x - b.middle).powi(2) > self.cfg.bollinger_k.powi(2) * b.sigma.powi(2) => {
                if x > b.middle {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        };
        if zone != 0 && zone != self.prev_zone {
            if let (Some(rule), Some(b), Some(mid)) = (&self.cfg.breakout, bands, sma) {
                let up = zone > 0;
                let mean_size = self.vwap.volume() as f64 / self.ticks as f64;
                let vwap_ok = !rule.require_vwap || if up { x > vwap } else { x < vwap };
                let size_ok = f64::from(t.size) >= rule.min_volume_ratio * mean_size;
                let trend_ok = !rule.require_trend
                    || ema.is_some_and(|e| if up { mid >= e } else { mid <= e });
                if vwap_ok && size_ok && trend_ok {
                    let band = self.cfg.bollinger_k * b.sigma;
                    let s = if band > 0.0 {
                        ((x - mid).abs() - band) / band
                    } else {
                        1.0
                    };
                    signal(
                        if up { Side::Buy } else { Side::Sell },
                        s,
                        Reason::BollingerBreakout,
                    );
                }
            }
        }
        self.prev_zone = zone;
    }
}

fn run_engine(cfg: &EngineConfig, ticks: &[Tick]) -> Vec<Signal> {
    let mut engine = SignalEngine::new(0, cfg.clone());
    let mut out = Vec::new();
    for t in ticks {
        engine.on_tick(t, &mut out);
    }
    out
}

fn run_model(cfg: &EngineConfig, symbols: usize, ticks: &[Tick]) -> Vec<Signal> {
    let mut models: Vec<Model> = (0..symbols).map(|_| Model::new(cfg)).collect();
    let mut out = Vec::new();
    for t in ticks {
        models[t.symbol as usize].on_tick(t, &mut out);
    }
    out
}

/// Signals must agree exactly in everything but strength, which may differ by rounding
/// (the engine compares squared and cross-multiplied quantities).
fn assert_same_signals(engine: &[Signal], model: &[Signal]) {
    assert_eq!(engine.len(), model.len(), "signal counts differ");
    for (e, m) in engine.iter().zip(model) {
        assert_eq!(
            (e.symbol, e.ts_ns, e.side, e.reason),
            (m.symbol, m.ts_ns, m.side, m.reason)
        );
        assert!((e.strength - m.strength).abs() < 1e-9, "{e:?} vs {m:?}");
    }
}

#[test]
fn engine_signals_equal_the_plain_rules_on_a_generated_market() {
    let market = MarketConfig {
        stormy_volatility: 0.01,
        ..MarketConfig::new(11, 16)
    };
    let ticks = MarketGenerator::new(market).take_vec(60_000);
    for cfg in [
        EngineConfig::default(),
        EngineConfig {
            bollinger_k: 1.0,
            breakout: Some(BreakoutRule {
                min_volume_ratio: 0.5,
                require_vwap: false,
                require_trend: false,
            }),
            macd_rsi: Some(MacdRsiRule {
                rsi_overbought: 55.0,
                rsi_oversold: 45.0,
            }),
            ..EngineConfig::default()
        },
    ] {
        let engine = run_engine(&cfg, &ticks);
        let model = run_model(&cfg, 16, &ticks);
        let count = |r| engine.iter().filter(|s| s.reason == r).count();
        assert!(count(Reason::MacdCrossRsi) > 100 && count(Reason::BollingerBreakout) > 100);
        assert_same_signals(&engine, &model);
        assert!(engine.iter().all(|s| (0.0..=1.0).contains(&s.strength)));
    }
}

#[test]
fn engine_indicators_equal_the_stand_alone_indicators_bit_for_bit() {
    let cfg = EngineConfig::default();
    let ticks = MarketGenerator::new(MarketConfig::new(5, 3)).take_vec(3_000);
    let mut engine = SignalEngine::new(3, cfg.clone());
    let mut models: Vec<Model> = (0..3).map(|_| Model::new(&cfg)).collect();
    let mut sink = Vec::new();
    for t in &ticks {
        engine.on_tick(t, &mut sink);
        let m = &mut models[t.symbol as usize];
        m.on_tick(t, &mut sink);
        let s = engine.indicators(t.symbol).unwrap();
        assert_eq!(s.ticks, m.ticks);
        assert_eq!(s.sma, m.sma.value());
        assert_eq!(s.ema, m.ema.value());
        assert_eq!(s.rsi, m.rsi.value());
        assert_eq!(s.macd, m.macd.value());
        assert_eq!(s.bollinger, m.bands.value());
        assert_eq!(s.vwap, m.vwap.value());
    }
    // Every indicator got past its warm-up.
    let s = engine.indicators(0).unwrap();
    assert!(s.sma.is_some() && s.ema.is_some() && s.rsi.is_some() && s.macd.is_some());
}

/// One symbol, unit size, one tick per price.
fn series(prices: &[f64], sizes: &[u32]) -> Vec<Tick> {
    prices
        .iter()
        .zip(sizes.iter().chain(std::iter::repeat(&100)))
        .enumerate()
        .map(|(i, (&price, &size))| Tick {
            ts_ns: i as u64,
            price,
            symbol: 0,
            size,
        })
        .collect()
}

fn only(reason: Reason, signals: &[Signal]) -> Vec<(u64, Side)> {
    signals
        .iter()
        .filter(|s| s.reason == reason)
        .map(|s| (s.ts_ns, s.side))
        .collect()
}

/// 60 ticks of accelerating fall to a bottom at index 59, then a steady climb.
fn v_shape() -> Vec<f64> {
    let mut p: Vec<f64> = (0..60).map(|i| 200.0 - 0.02 * f64::from(i * i)).collect();
    let bottom = p[59];
    p.extend((1..40).map(|i| bottom + 2.0 * f64::from(i)));
    p
}

#[test]
fn v_bottom_gives_one_macd_buy_just_after_the_bottom() {
    let ticks = series(&v_shape(), &[]);
    let got = only(
        Reason::MacdCrossRsi,
        &run_engine(&EngineConfig::default(), &ticks),
    );
    assert_eq!(got.len(), 1, "{got:?}");
    let (ts, side) = got[0];
    assert_eq!(side, Side::Buy);
    assert!((60..66).contains(&ts), "buy at tick {ts}");
}

#[test]
fn inverted_v_top_gives_one_macd_sell_just_after_the_top() {
    let prices: Vec<f64> = v_shape().iter().map(|p| 400.0 - p).collect();
    let got = only(
        Reason::MacdCrossRsi,
        &run_engine(&EngineConfig::default(), &series(&prices, &[])),
    );
    assert_eq!(got.len(), 1, "{got:?}");
    let (ts, side) = got[0];
    assert_eq!(side, Side::Sell);
    assert!((60..66).contains(&ts), "sell at tick {ts}");
}

#[test]
fn rsi_vetoes_a_macd_buy_when_overbought() {
    let ticks = series(&v_shape(), &[]);
    let strict = EngineConfig {
        macd_rsi: Some(MacdRsiRule {
            rsi_overbought: 1.0,
            rsi_oversold: 30.0,
        }),
        ..EngineConfig::default()
    };
    assert!(only(Reason::MacdCrossRsi, &run_engine(&strict, &ticks)).is_empty());
}

/// 60 ticks wobbling ±0.1 around an uptrend of 0.02 a tick from 100 (steep enough that the
/// SMA(20) stays above the EMA(50) even with the spike in it), then `spike` twice (the first
/// with `size`), then back near 101.
fn breakout(spike: f64, size: u32) -> Vec<Tick> {
    let mut prices: Vec<f64> = (0..60)
        .map(|i| 100.0 + 0.02 * f64::from(i) + if i % 2 == 0 { 0.1 } else { -0.1 })
        .collect();
    prices.push(spike);
    prices.push(spike);
    prices.extend([101.25, 101.15, 101.25]);
    let mut sizes = vec![100; 60];
    sizes.push(size);
    series(&prices, &sizes)
}

#[test]
fn band_break_up_with_volume_buys_once() {
    let got = only(
        Reason::BollingerBreakout,
        &run_engine(&EngineConfig::default(), &breakout(103.0, 500)),
    );
    assert_eq!(
        got,
        vec![(60, Side::Buy)],
        "a held break-out must not fire again"
    );
}

#[test]
fn band_break_down_with_volume_sells() {
    // The trend filter would veto a sell in an uptrend; this rule set drops it.
    let cfg = EngineConfig {
        breakout: Some(BreakoutRule {
            require_trend: false,
            ..BreakoutRule::default()
        }),
        ..EngineConfig::default()
    };
    let got = only(
        Reason::BollingerBreakout,
        &run_engine(&cfg, &breakout(97.0, 500)),
    );
    assert_eq!(got, vec![(60, Side::Sell)]);
    let with_trend = run_engine(&EngineConfig::default(), &breakout(97.0, 500));
    assert!(
        only(Reason::BollingerBreakout, &with_trend).is_empty(),
        "trend filter should veto"
    );
}

#[test]
fn band_break_on_thin_volume_is_ignored() {
    let got = only(
        Reason::BollingerBreakout,
        &run_engine(&EngineConfig::default(), &breakout(103.0, 10)),
    );
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn disabled_rules_never_fire() {
    let cfg = EngineConfig {
        macd_rsi: None,
        breakout: None,
        ..EngineConfig::default()
    };
    let ticks = MarketGenerator::new(MarketConfig::default()).take_vec(20_000);
    assert!(run_engine(&cfg, &ticks).is_empty());
    assert!(!run_engine(&EngineConfig::default(), &ticks).is_empty());
}

#[test]
fn unknown_symbol_ids_grow_the_state() {
    let mut engine = SignalEngine::new(2, EngineConfig::default());
    let mut out = Vec::new();
    let t = Tick {
        ts_ns: 1,
        price: 10.0,
        symbol: 1000,
        size: 5,
    };
    engine.on_tick(&t, &mut out);
    assert_eq!(engine.symbols(), 1001);
    assert_eq!(engine.indicators(1000).unwrap().vwap, Some(10.0));
    assert_eq!(engine.indicators(999).unwrap().ticks, 0);
    assert!(engine.indicators(1001).is_none());
    // Past 2 MiB of state the growth also asks for huge pages; the state must survive it.
    engine.on_tick(
        &Tick {
            symbol: 40_000,
            ..t
        },
        &mut out,
    );
    assert_eq!(engine.symbols(), 40_001);
    assert_eq!(engine.indicators(1000).unwrap().vwap, Some(10.0));
    assert_eq!(engine.indicators(40_000).unwrap().ticks, 1);
}

#[test]
fn on_ticks_equals_on_tick_one_by_one() {
    // 300 symbols take the plain loop, 3 000 the prefetching one.
    for (symbols, n) in [(300u32, 30_000), (3_000, 300_000)] {
        let ticks = MarketGenerator::new(MarketConfig::new(9, symbols)).take_vec(n);
        let mut a = SignalEngine::new(symbols as usize, EngineConfig::default());
        let mut b = a.clone();
        let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
        a.on_ticks(&ticks, &mut out_a);
        for t in &ticks {
            b.on_tick(t, &mut out_b);
        }
        assert!(
            out_a.len() > 1000,
            "{symbols} symbols: {} signals",
            out_a.len()
        );
        assert_eq!(out_a, out_b);
        let last = ticks.last().unwrap().symbol;
        assert_eq!(a.indicators(last), b.indicators(last));
    }
}

#[test]
fn invalid_config_is_refused_with_the_field_name() {
    let bad = EngineConfig {
        macd_fast: 30,
        ..EngineConfig::default()
    };
    let e = SignalEngine::try_new(4, bad).unwrap_err();
    assert_eq!(e.field, "macd_fast");
    let bad = EngineConfig {
        bollinger_period: 0,
        ..EngineConfig::default()
    };
    assert_eq!(bad.validate().unwrap_err().field, "bollinger_period");
    assert!(EngineConfig::default().validate().is_ok());
}

#[test]
fn engine_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<SignalEngine>();
}

#[test]
fn a_symbol_id_beyond_max_symbols_is_skipped_and_counted_not_allocated() {
    use tickbench::engine::signal::MAX_SYMBOLS;
    let mut engine = SignalEngine::new(4, EngineConfig::default());
    let mut out = Vec::new();
    let t = Tick {
        ts_ns: 1,
        price: 100.0,
        symbol: u32::MAX,
        size: 10,
    };
    engine.on_tick(&t, &mut out);
    engine.on_ticks(&[t, Tick { symbol: 3, ..t }], &mut out);
    assert_eq!(engine.rejected_ticks(), 2);
    assert_eq!(engine.symbols(), 4, "no state was grown for the bad ids");
    assert_eq!(
        engine.indicators(3).unwrap().ticks,
        1,
        "good ticks still count"
    );
    let Err(err) = SignalEngine::try_new(MAX_SYMBOLS + 1, EngineConfig::default()) else {
        panic!("too many symbols must be a config error");
    };
    assert_eq!(err.field, "symbols");
}
