//! Logging and tracing (D12): one JSON object per line (or pretty output on a developer's
//! terminal), and, when `[tracing] enabled`, OpenTelemetry spans exported over OTLP/HTTP by a
//! batch processor on its own thread, with W3C trace-context propagation.

use std::io::IsTerminal as _;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{Environment, LogFormat, Settings};

/// Keeps the trace exporter alive; dropping it flushes the spans still batched.
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            tracing::warn!(error = %e, "trace exporter did not shut down cleanly");
        }
    }
}

fn tracer_provider(settings: &Settings) -> Result<SdkTracerProvider, String> {
    let t = &settings.tracing;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(t.endpoint.clone())
        .with_headers(t.headers.clone().into_iter().collect())
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(settings.service.name.clone())
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("deployment.environment.name", settings.environment.as_str()),
            KeyValue::new("service.instance.id", crate::workers::instance_id()),
        ])
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler(t))
        .with_resource(resource)
        .build())
}

/// The ratio decides from the trace id, so every span of a trace gets the same decision. An
/// incoming `traceparent`'s sampled flag is followed only with `tracing.parent_based`: otherwise
/// a client could force every one of its requests to be traced and exported.
fn sampler(t: &crate::config::TracingSettings) -> Sampler {
    let ratio = Sampler::TraceIdRatioBased(t.sampling_ratio);
    if t.parent_based {
        Sampler::ParentBased(Box::new(ratio))
    } else {
        ratio
    }
}

/// Installs the global subscriber (and the trace pipeline when enabled). `RUST_LOG`, when set,
/// wins over `log.level`. Calling it twice keeps the first subscriber.
#[must_use]
pub fn init(settings: &Settings) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = match settings.log.format {
        LogFormat::Json => false,
        LogFormat::Pretty => true,
        LogFormat::Auto => {
            settings.environment == Environment::Development && std::io::stdout().is_terminal()
        }
    };
    let fmt = if pretty {
        tracing_subscriber::fmt::layer()
            .with_span_events(FmtSpan::NONE)
            .with_target(true)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(true)
            .with_span_events(FmtSpan::NONE)
            .boxed()
    };
    // The lines show the request's span (its id, method and path) and no other: every span a
    // layer sees has its fields formatted as JSON when it opens and again at each `record`, and
    // the HTTP root span of tracing-actix-web, the use-case spans and the per-statement spans
    // only matter to OpenTelemetry. Formatting them cost about a third of the CPU of a `/live`
    // request, for fields no line printed (`with_span_list(false)`).
    let fmt = fmt.with_filter(filter_fn(|meta| {
        meta.is_event() || meta.name() == erp_http::middleware::REQUEST_SPAN
    }));
    let (otel, provider, failure) = if settings.tracing.enabled {
        match tracer_provider(settings) {
            Ok(provider) => {
                opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
                let tracer = provider.tracer("erp-mif-maroc");
                let layer = tracing_opentelemetry::layer().with_tracer(tracer);
                (Some(layer), Some(provider), None)
            }
            Err(e) => (None, None, Some(e)),
        }
    } else {
        (None, None, None)
    };
    // Already installed (tests calling twice): keep the first one.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    // The per-statement spans are only visible in exported traces.
    erp_persistence::trace_queries(provider.is_some());
    if let Some(e) = failure {
        tracing::error!(error = %e, "tracing export disabled");
    } else if provider.is_some() {
        tracing::info!(
            endpoint = %settings.tracing.endpoint,
            sampling_ratio = settings.tracing.sampling_ratio,
            parent_based = settings.tracing.parent_based,
            "trace export enabled"
        );
    }
    TelemetryGuard { provider }
}

#[cfg(test)]
mod tests {
    use opentelemetry::Context;
    use opentelemetry::trace::{
        SamplingDecision, SpanContext, SpanId, SpanKind, TraceContextExt as _, TraceFlags, TraceId,
        TraceState,
    };
    use opentelemetry_sdk::trace::ShouldSample as _;

    use super::sampler;
    use crate::config::TracingSettings;

    fn decision(ratio: f64, parent_based: bool, parent: TraceFlags) -> SamplingDecision {
        let settings = TracingSettings {
            enabled: true,
            endpoint: "http://127.0.0.1:4318/v1/traces".into(),
            headers: std::collections::BTreeMap::new(),
            sampling_ratio: ratio,
            parent_based,
        };
        let trace_id =
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap_or(TraceId::INVALID);
        let remote = SpanContext::new(
            trace_id,
            SpanId::from_hex("00f067aa0ba902b7").unwrap_or(SpanId::INVALID),
            parent,
            true,
            TraceState::default(),
        );
        let cx = Context::new().with_remote_span_context(remote);
        sampler(&settings)
            .should_sample(Some(&cx), trace_id, "GET /", &SpanKind::Server, &[], &[])
            .decision
    }

    #[test]
    fn a_client_sampled_flag_forces_nothing_unless_parent_based() {
        assert_eq!(
            decision(0.0, false, TraceFlags::SAMPLED),
            SamplingDecision::Drop
        );
        assert_eq!(
            decision(0.0, true, TraceFlags::SAMPLED),
            SamplingDecision::RecordAndSample
        );
        // The ratio decides either way for a parent that was not sampled upstream.
        assert_eq!(
            decision(1.0, false, TraceFlags::default()),
            SamplingDecision::RecordAndSample
        );
        assert_eq!(
            decision(1.0, true, TraceFlags::default()),
            SamplingDecision::Drop
        );
    }
}
