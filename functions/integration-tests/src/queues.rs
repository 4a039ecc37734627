//! The replication queues, played as Lambda's SQS integration plays them for `replicate`.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};

use crate::{ApiRegion, Emulator, Stack};

/// The operator's client of a region's SQS (the moto behind `storage`'s gateway) and a queue's URL.
pub(crate) async fn queue_client(region: &str, storage: &Emulator, queue: &str) -> (aws_sdk_sqs::Client, String) {
    let sdk = twinshare_aws::clients::sdk_config(region).await;
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk)
            .endpoint_url(&storage.url)
            .build(),
    );
    let queue_url = sqs
        .get_queue_url()
        .queue_name(queue)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    (sqs, queue_url)
}

impl Stack {
    /// Plays Lambda's SQS integration on the primary region's queue: [`Stack::deliver_events_in`].
    pub async fn deliver_events(&self) -> (usize, usize) {
        self.deliver_events_in(ApiRegion::Primary).await
    }

    /// Plays Lambda's SQS integration on a region's queue until it shows nothing: receives,
    /// invokes that region's `replicate` with the messages as an SQS event, deletes those it
    /// did not report as failed (the failed ones stay invisible for the visibility timeout).
    /// Returns (messages handled, messages failed).
    pub async fn deliver_events_in(&self, region: ApiRegion) -> (usize, usize) {
        let (sqs, queue_url) = self.queue_of(region);
        let replicate = match region {
            ApiRegion::Primary => &self.replicate,
            ApiRegion::Second => &self.second().replicate,
        };
        let (mut handled, mut failed) = (0, 0);
        loop {
            let messages = receive(sqs, queue_url).await;
            if messages.is_empty() {
                return (handled, failed);
            }
            let response = replicate::handle(replicate, sqs_event(&messages)).await;
            for message in &messages {
                let id = message.message_id().unwrap_or_default();
                if response.batch_item_failures.iter().any(|f| f.item_identifier == id) {
                    failed += 1;
                } else {
                    delete(sqs, queue_url, message).await;
                }
                handled += 1;
            }
        }
    }
}

impl Stack {
    /// Deletes every visible message of a region's queue unhandled, as if they had been lost
    /// (gone to the dead-letter queue after their retries); how many.
    pub async fn lose_events_in(&self, region: ApiRegion) -> usize {
        let (sqs, queue_url) = self.queue_of(region);
        let mut lost = 0;
        loop {
            let messages = receive(sqs, queue_url).await;
            if messages.is_empty() {
                return lost;
            }
            for message in &messages {
                delete(sqs, queue_url, message).await;
                lost += 1;
            }
        }
    }

    fn queue_of(&self, region: ApiRegion) -> (&aws_sdk_sqs::Client, &String) {
        match region {
            ApiRegion::Primary => (&self.sqs, &self.queue_url),
            ApiRegion::Second => (&self.second().sqs, &self.second().queue_url),
        }
    }
}

/// Up to 10 visible messages of a queue (none: it shows nothing).
async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    received.messages().to_vec()
}

async fn delete(sqs: &aws_sdk_sqs::Client, queue_url: &str, message: &aws_sdk_sqs::types::Message) {
    sqs.delete_message()
        .queue_url(queue_url)
        .receipt_handle(message.receipt_handle().unwrap_or_default())
        .send()
        .await
        .unwrap();
}

/// SQS messages as Lambda hands them to a function.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    for m in messages {
        let mut message = SqsMessage::default();
        message.message_id = m.message_id().map(str::to_owned);
        message.receipt_handle = m.receipt_handle().map(str::to_owned);
        message.body = m.body().map(str::to_owned);
        message.event_source = Some("aws:sqs".into());
        event.records.push(message);
    }
    event
}
