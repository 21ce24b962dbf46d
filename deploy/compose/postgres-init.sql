-- Demo source, run once by the postgres image on an empty data volume: 10,000 orders.
create table orders (
  id bigint generated always as identity primary key,
  customer text not null,
  amount numeric(12, 2) not null,
  status text not null,
  updated_at timestamptz(6) not null default now()
);
create index orders_updated_at on orders (updated_at, id);

insert into orders (customer, amount, status, updated_at)
select 'customer-' || (g % 1000),
       (g % 100000) / 100.0,
       (array['new', 'paid', 'shipped', 'delivered'])[1 + g % 4],
       now() - (10000 - g) * interval '1 second'
from generate_series(1, 10000) as g;
